/**
 * Renders the conversation as a list of turns that grow as deltas arrive, with the assistant's tool
 * calls as short lines between them. Text from the network is set as Text nodes only.
 *
 * Rendering is once per frame, whatever the rate of deltas: changes are collected, and in the next
 * animation frame each changed turn gets only its new characters appended (`appendData`, so the
 * browser reshapes the tail, not the turn) and the list scrolls once. Replacing the whole text and
 * scrolling on every delta forced a layout of the growing turn per delta: quadratic, 39 s of main
 * thread for 4,096 deltas (bench/transcript).
 */

/** A tool line says what the assistant did ("Checked the time"): it names no speaker. */
const ROLE_LABELS = { user: 'You', assistant: 'Assistant', tool: '' };
/** Within this many pixels of the bottom counts as "reading the latest": keep following it. */
const FOLLOW_SLACK_PX = 48;
/**
 * A browser lays out a paragraph whole, so drawing a very long turn costs more per frame as it grows
 * (about 4 ms at 25 KB here). After a render that took `t`, the next waits `t × RENDER_SPACING` (and
 * at least a frame): drawing then takes at most about 1/(1 + RENDER_SPACING) of the main thread,
 * however long the turn. Short turns still update every frame.
 */
const RENDER_SPACING = 9;

/**
 * @typedef {object} Turn
 * @property {HTMLLIElement} item
 * @property {Text} text    the turn's one text node
 * @property {string} shown what `text` holds now
 */

export class TranscriptView {
  /** @type {HTMLOListElement} */
  #list;
  /** @type {HTMLElement} */
  #empty;
  /** @type {HTMLElement} the scrolling box: the list's parent */
  #scroller;
  /** @type {Map<string, Turn>} */
  #turns = new Map();
  /** @type {Map<string, import('./conversation.js').Entry>} entries changed since the last frame */
  #pending = new Map();
  #frame = 0;
  #visibleTurns = 0;
  /** performance.now() before which the next render waits (see RENDER_SPACING) */
  #notBefore = 0;

  /**
   * @param {HTMLOListElement} list     inside a role="log" aria-live region
   * @param {HTMLElement} empty         shown while there is nothing to read
   */
  constructor(list, empty) {
    this.#list = list;
    this.#empty = empty;
    this.#scroller = /** @type {HTMLElement} */ (list.parentElement);
  }

  /**
   * Renders a conversation from now on.
   * @param {import('./conversation.js').Conversation} conversation
   */
  follow(conversation) {
    conversation.addEventListener('change', (event) => this.update(/** @type {CustomEvent} */ (event).detail.entry));
    conversation.addEventListener('reset', () => this.clear());
  }

  /**
   * Schedules an entry's current text for the next frame. Cheap: call it for every delta.
   * @param {import('./conversation.js').Entry} entry
   */
  update(entry) {
    this.#pending.set(entry.id, entry);
    this.#frame ||= requestAnimationFrame(this.#render);
  }

  /** Removes every turn, including any not drawn yet. */
  clear() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#pending.clear();
    this.#list.replaceChildren();
    this.#turns.clear();
    this.#visibleTurns = 0;
    this.#empty.hidden = false;
  }

  #render = (/** @type {number} */ now) => {
    if (now < this.#notBefore) {
      this.#frame = requestAnimationFrame(this.#render);
      return;
    }
    this.#frame = 0;
    const started = performance.now();
    const scroller = this.#scroller;
    // Read before writing: layout is still clean from the last frame, so this costs nothing.
    const following = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= FOLLOW_SLACK_PX;
    for (const entry of this.#pending.values()) this.#draw(entry);
    this.#pending.clear();
    this.#empty.hidden = this.#visibleTurns > 0;
    // One scroll per frame, and only for a reader at the bottom: someone reading back is not yanked down.
    if (following) scroller.scrollTop = scroller.scrollHeight;
    // Reading scrollHeight made the browser lay the new text out here, so this is the frame's cost.
    const ended = performance.now();
    this.#notBefore = ended + (ended - started) * RENDER_SPACING;
  };

  /** @param {import('./conversation.js').Entry} entry */
  #draw(entry) {
    const turn = this.#turns.get(entry.id) ?? this.#add(entry);
    const { text, shown } = turn;
    const next = entry.text;
    if (next.length > shown.length && next.startsWith(shown)) {
      text.appendData(next.slice(shown.length));
    } else if (next !== shown) {
      // A final transcript may differ from the deltas: it replaces them.
      text.data = next;
    }
    turn.shown = next;
    turn.item.dataset.final = String(entry.final);
    // A turn that started with speech but has no words yet, or a tool call whose line is on its
    // way, stays out of sight and out of the screen reader's way until it has something to say.
    const hidden = next === '' && entry.role !== 'assistant';
    if (hidden !== turn.item.hidden) {
      turn.item.hidden = hidden;
      this.#visibleTurns += hidden ? -1 : 1;
    }
  }

  /**
   * @param {import('./conversation.js').Entry} entry
   * @returns {Turn}
   */
  #add(entry) {
    const item = document.createElement('li');
    item.className = `turn turn--${entry.role}`;
    const who = document.createElement('span');
    who.className = 'turn__who';
    who.textContent = ROLE_LABELS[entry.role];
    const paragraph = document.createElement('p');
    paragraph.className = 'turn__text';
    const text = document.createTextNode('');
    paragraph.append(text);
    item.append(who, paragraph);
    this.#list.append(item);
    this.#visibleTurns += 1;
    /** @type {Turn} */
    const turn = { item, text, shown: '' };
    this.#turns.set(entry.id, turn);
    return turn;
  }
}
