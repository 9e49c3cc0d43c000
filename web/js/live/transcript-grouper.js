/**
 * Turns GPT-Live's transcript deltas into turns as they arrive: the SDKs' `TranscriptGrouper`
 * (openai-python `openai/lib/live/_transcript_state.py` and `_transcript_grouper.py`, ported from
 * openai-node's), driven by this page's clock.
 *
 * Only `session.input_transcript.delta` and `session.output_transcript.delta` are read (the page is
 * never sent `session.closed`; `close()` ends the grouping instead). A delta seen twice (same
 * `event_id`) counts once; empty text changes nothing. User and assistant deltas with the same interval
 * wait up to 50 ms for each other, so the current speaker's goes first. When the timeline's next
 * deadline passes without text (an assistant's silence, a held backchannel), a timer advances it on
 * the session's timeline as estimated from this page's clock.
 *
 * Dispatches `segment` (detail: GroupingUpdate) for every change of a turn, in order.
 */
import { GROUPER_DEFAULTS, TranscriptGrouping } from './transcript-grouping.js';

/** setTimeout's longest delay, and the SDKs' bound on every threshold. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** How long a delta waits for the other speaker's delta with the same interval. */
const PAIRING_MS = 50;

const TRANSCRIPT_SPEAKERS = Object.freeze({
  'session.input_transcript.delta': 'user',
  'session.output_transcript.delta': 'assistant',
});

let grouperIds = 0;

/**
 * @typedef {{fragment: import('./transcript-grouping.js').Fragment, receivedAt: number}} Received
 */

export class TranscriptGrouper extends EventTarget {
  #grouping;
  /** @type {Set<string>} */
  #seen = new Set();
  /** @type {Received[]} */
  #pending = [];
  /** @type {[number, number] | null} the latest source time known, and this page's time when it came */
  #anchor = null;
  /** @type {number | null} */
  #lastStartMs = null;
  #closed = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  #now;

  /**
   * @param {Partial<import('./transcript-grouping.js').GrouperOptions>} [options]
   * @param {() => number} [now]  this page's clock in ms (a test may drive its own)
   */
  constructor(options = {}, now = () => performance.now()) {
    super();
    const resolved = { ...GROUPER_DEFAULTS, ...options };
    for (const [name, value] of Object.entries(resolved)) {
      if (name === 'additionalAcknowledgments') continue;
      if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMEOUT_MS)) {
        throw new RangeError(`${name} must be a finite number between 0 and ${MAX_TIMEOUT_MS}`);
      }
    }
    grouperIds += 1;
    this.#grouping = new TranscriptGrouping(resolved, `segment_${grouperIds}`);
    this.#now = now;
  }

  /**
   * Reads one server event; any other than the two transcript deltas is ignored, as is a delta whose
   * fields are not a GPT-Live delta's.
   * @param {{type: string} & Record<string, any>} event
   */
  push(event) {
    if (this.#closed) return;
    const speaker = Object.hasOwn(TRANSCRIPT_SPEAKERS, event.type)
      ? TRANSCRIPT_SPEAKERS[/** @type {keyof typeof TRANSCRIPT_SPEAKERS} */ (event.type)]
      : null;
    if (!speaker) return;
    const { event_id: id, delta: text, start_ms: startMs, end_ms: endMs } = event;
    if (typeof id !== 'string' || !id || typeof text !== 'string' || !validTime(startMs) || !validTime(endMs)) return;
    if (endMs < startMs || this.#seen.has(id)) return;
    this.#seen.add(id);
    if (!text) return;
    /** @type {Received} */
    const received = { fragment: { speaker, text, startMs, endMs }, receivedAt: this.#now() };
    /** @type {import('./transcript-grouping.js').GroupingUpdate[]} */
    const updates = [];
    const pending = this.#pending[0]?.fragment;
    if (pending && pending.startMs === startMs && pending.endMs === endMs) {
      this.#pending.push(received);
      if (this.#pending.some((part) => part.fragment.speaker !== speaker)) updates.push(...this.#flushPending());
    } else {
      updates.push(...this.#flushPending());
      if (this.#grouping.speaker === speaker) updates.push(...this.#commit([received]));
      else this.#pending.push(received);
    }
    this.#deliver(updates);
  }

  /** Ends the grouping: every open turn is closed ('manual'), timers stop, later events are ignored. */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const updates = this.#flushPending();
    updates.push(...this.#grouping.close(this.#sourceNow(), 'manual'));
    this.#seen.clear();
    this.#deliver(updates);
  }

  /** @param {import('./transcript-grouping.js').GroupingUpdate[]} updates */
  #deliver(updates) {
    this.#schedule();
    for (const update of updates) this.dispatchEvent(new CustomEvent('segment', { detail: update }));
  }

  #schedule() {
    clearTimeout(this.#timer);
    const delay = this.#delay();
    if (delay !== null) this.#timer = setTimeout(() => this.#tick(), delay);
  }

  #tick() {
    if (this.#closed) return;
    const updates = this.#flushPending();
    updates.push(...this.#grouping.advance(this.#sourceNow()));
    this.#deliver(updates);
  }

  /** @returns {number | null} */
  #delay() {
    if (this.#closed) return null;
    const deadline = this.#grouping.deadline();
    let delay;
    if (this.#pending.length > 0) delay = this.#pending[0].receivedAt + PAIRING_MS - this.#now();
    else if (deadline !== null) delay = deadline - this.#sourceNow();
    else return null;
    return Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(delay)));
  }

  /** The session's timeline now, estimated from the latest fragment and the time since it came. */
  #sourceNow() {
    if (!this.#anchor) return 0;
    const [sourceMs, receivedAt] = this.#anchor;
    return sourceMs + Math.max(0, this.#now() - receivedAt);
  }

  #flushPending() {
    const pending = this.#pending;
    this.#pending = [];
    return this.#commit(pending);
  }

  /**
   * @param {Received[]} fragments
   * @returns {import('./transcript-grouping.js').GroupingUpdate[]}
   */
  #commit(fragments) {
    if (fragments.length === 0) return [];
    const first = fragments[0].fragment;
    /** @type {import('./transcript-grouping.js').GroupingUpdate[]} */
    const updates = [];
    if (this.#lastStartMs !== null && first.startMs < this.#lastStartMs) {
      updates.push(...this.#grouping.close(this.#sourceNow(), 'timestamp_reset'));
      this.#anchor = null;
    }
    this.#lastStartMs = first.startMs;
    this.#anchor = [
      Math.max(this.#anchor?.[0] ?? 0, ...fragments.map((part) => part.fragment.endMs)),
      Math.max(...fragments.map((part) => part.receivedAt)),
    ];
    updates.push(...this.#grouping.process(fragments.map((part) => part.fragment)));
    return updates;
  }
}

/**
 * @param {unknown} value
 * @returns {value is number}
 */
function validTime(value) {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
