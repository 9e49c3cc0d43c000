/**
 * REFERENCE ONLY (bench/transcript): the page's transcript renderer as it was before the fix, kept
 * verbatim so the benchmark can print old and new side by side in one run. Per delta it replaces the
 * turn's whole `textContent` and calls `scrollIntoView`, which forces a synchronous layout of the
 * growing text: quadratic in the length of a turn. Never served by the page.
 */

const ROLE_LABELS = { user: 'You', assistant: 'Assistant' };

export class TranscriptView {
  /** @type {HTMLOListElement} */
  #list;
  /** @type {HTMLElement} */
  #empty;
  /** @type {Map<string, HTMLElement>} */
  #textById = new Map();

  /**
   * @param {HTMLOListElement} list   inside a role="log" aria-live region
   * @param {HTMLElement} empty       shown while there is nothing to read
   */
  constructor(list, empty) {
    this.#list = list;
    this.#empty = empty;
  }

  /** @param {import('../../../web/js/conversation.js').Entry} entry */
  update(entry) {
    let text = this.#textById.get(entry.id);
    if (!text) {
      text = this.#append(entry);
    }
    text.textContent = entry.text;
    const item = /** @type {HTMLElement} */ (text.parentElement);
    item.dataset.final = String(entry.final);
    // A turn that started with speech but has no words yet stays out of sight and out of the
    // screen reader's way until it has something to say.
    item.hidden = entry.text === '' && entry.role === 'user';
    this.#empty.hidden = this.#list.querySelector('li:not([hidden])') !== null;
    item.scrollIntoView({ block: 'nearest' });
  }

  /** Removes every turn. */
  clear() {
    this.#list.replaceChildren();
    this.#textById.clear();
    this.#empty.hidden = false;
  }

  /** @param {import('../../../web/js/conversation.js').Entry} entry */
  #append(entry) {
    const item = document.createElement('li');
    item.className = `turn turn--${entry.role}`;
    const who = document.createElement('span');
    who.className = 'turn__who';
    who.textContent = ROLE_LABELS[entry.role];
    const text = document.createElement('p');
    text.className = 'turn__text';
    item.append(who, text);
    this.#list.append(item);
    this.#textById.set(entry.id, text);
    return text;
  }
}

/**
 * The wiring the page's main.js did, so the benchmark drives the old renderer exactly as the page did.
 * @param {TranscriptView} view
 * @param {EventTarget} conversation
 */
export function attach(view, conversation) {
  conversation.addEventListener('change', (event) => view.update(/** @type {CustomEvent} */ (event).detail.entry));
  conversation.addEventListener('reset', () => view.clear());
}
