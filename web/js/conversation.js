/**
 * The conversation as the user sees it: user and assistant turns in order, built from server
 * events, and replayable into a new session as GA conversation items. The assistant's tool calls
 * are entries too (role 'tool', one line each, in order with the turns), but only for reading: they
 * are neither replayed nor carried through a sign-in.
 *
 * Dispatches `change` (detail: {entry}) whenever an entry is added, its text grows or it becomes final.
 */

/**
 * @typedef {object} Entry
 * @property {string} id
 * @property {'user' | 'assistant' | 'tool'} role
 * @property {string} text
 * @property {boolean} final   the text will not change any more
 */

/** @type {Promise<typeof import('./tool-activity.js')> | undefined} loaded with the first tool call */
let toolActivity;

export class Conversation extends EventTarget {
  /** @type {Map<string, Entry>} */
  #entries = new Map();
  #localCounter = 0;

  /** @returns {Entry[]} in the order they started */
  get entries() {
    return [...this.#entries.values()];
  }

  /**
   * Applies one server event; events that do not change the transcript are ignored.
   * @param {{type: string} & Record<string, any>} event
   */
  applyServerEvent(event) {
    // A function call's item (output_item.added, then .done, and conversation.item.*): one line.
    if (event.item?.type === 'function_call') this.#addToolCall(event.item);
    switch (event.type) {
      // Reserve the user's place when speech starts: transcription completes asynchronously and
      // may arrive after the assistant has begun answering.
      case 'input_audio_buffer.speech_started':
        this.put(event.item_id, 'user', '', false);
        break;
      case 'conversation.item.input_audio_transcription.delta':
        this.#append(event.item_id, 'user', event.delta ?? '');
        break;
      case 'conversation.item.input_audio_transcription.completed':
        this.put(event.item_id, 'user', event.transcript ?? '', true);
        break;
      case 'conversation.item.input_audio_transcription.failed':
        this.put(event.item_id, 'user', this.#entries.get(event.item_id)?.text ?? '', true);
        break;
      case 'response.output_audio_transcript.delta':
      case 'response.output_text.delta':
        this.#append(event.item_id, 'assistant', event.delta ?? '');
        break;
      case 'response.output_audio_transcript.done':
        this.put(event.item_id, 'assistant', event.transcript ?? '', true);
        break;
      case 'response.output_text.done':
        this.put(event.item_id, 'assistant', event.text ?? '', true);
        break;
      default:
        break;
    }
  }

  /**
   * Records text the user typed (it is sent as a conversation item by the call).
   * @param {string} text
   * @returns {Entry}
   */
  addUserText(text) {
    this.#localCounter += 1;
    return this.put(`local_${this.#localCounter}`, 'user', text, true);
  }

  /**
   * What was said so far, empty turns (speech with no transcript) and tool lines left out: what a new
   * session replays and what the sign-in redirect carries.
   * @returns {Array<{role: 'user' | 'assistant', text: string}>}
   */
  turns() {
    const said = this.entries.filter((entry) => entry.role !== 'tool' && entry.text.trim() !== '');
    const turns = said.map(({ role, text }) => ({ role, text }));
    return /** @type {Array<{role: 'user' | 'assistant', text: string}>} */ (turns);
  }

  /**
   * The transcript so far as `conversation.item.create` events, for a new session to keep context.
   * @returns {Array<{type: 'conversation.item.create', item: object}>}
   */
  replayEvents() {
    return this.turns().map((entry) => ({
      type: 'conversation.item.create',
      item: {
        type: 'message',
        role: entry.role,
        content: [{ type: entry.role === 'user' ? 'input_text' : 'output_text', text: entry.text }],
      },
    }));
  }

  /**
   * Puts back turns saved before the page went away (the sign-in redirect), as final entries.
   * @param {Array<{role: 'user' | 'assistant', text: string}>} turns
   */
  restore(turns) {
    for (const turn of turns) {
      this.#localCounter += 1;
      this.put(`restored_${this.#localCounter}`, turn.role, turn.text, true);
    }
  }

  /**
   * Ends every turn still being spoken: the session that was delivering them is gone (the call ended
   * or dropped), so their text will not grow any more. A final transcript that still arrives replaces
   * their text as usual.
   */
  settle() {
    for (const entry of this.#entries.values()) {
      if (!entry.final) this.put(entry.id, entry.role, entry.text, true);
    }
  }

  /** Forgets every entry (a new conversation). */
  clear() {
    this.#entries.clear();
    this.dispatchEvent(new CustomEvent('reset'));
  }

  /**
   * Reserves the call's place now, in order with the turns, and writes its line once the wording has
   * loaded (an entry without text is not shown). Only the name is read, never arguments or output.
   * @param {{id?: unknown, name?: unknown}} item
   */
  #addToolCall({ id, name }) {
    if (typeof id !== 'string' || typeof name !== 'string' || this.#entries.has(id)) return;
    const entry = this.put(id, 'tool', '', false);
    toolActivity ??= import('./tool-activity.js');
    void toolActivity.then(({ describeToolCall }) => {
      // Not after a clear(): the line belongs to the conversation it was in.
      if (this.#entries.get(id) === entry) this.put(id, 'tool', describeToolCall(name), true);
    });
  }

  /**
   * @param {string | undefined} id
   * @param {'user' | 'assistant'} role
   * @param {string} delta
   */
  #append(id, role, delta) {
    const current = id ? this.#entries.get(id) : undefined;
    this.put(id, role, (current?.text ?? '') + delta, false);
  }

  /**
   * Adds an entry or sets its text (GPT-Live's turns arrive whole, grouped: live/live-protocol.js).
   * A final entry stays final.
   * @param {string | undefined} id
   * @param {'user' | 'assistant' | 'tool'} role
   * @param {string} text
   * @param {boolean} final
   * @returns {Entry}
   */
  put(id, role, text, final) {
    const key = id ?? `anon_${this.#entries.size}`;
    let entry = this.#entries.get(key);
    if (entry?.final && !final) return entry;
    if (!entry) {
      entry = { id: key, role, text, final };
      this.#entries.set(key, entry);
    } else {
      entry.text = text;
      entry.final = final;
    }
    this.dispatchEvent(new CustomEvent('change', { detail: { entry } }));
    return entry;
  }
}
