/**
 * GPT-Live's transcript fragments grouped into turns: a port of the openai SDKs' grouping policy
 * (openai-node `src/lib/live/transcript-grouper.ts`; openai-python `openai/lib/live/_transcript_grouping.py`,
 * "a direct port of the TypeScript policy"). Same rules, same defaults, same close reasons; no clock,
 * timer or transport here: `TranscriptGrouper` (transcript-grouper.js) drives it.
 *
 * GPT-Live sends no turn events: user and assistant text arrive as timed deltas that interleave (the
 * model talks full duplex). A speaker's turn ends when the other speaker's text starts at least
 * `minTurnSeparationMs` after it, or, for the assistant, after `assistantSilenceMs` without text. A
 * short assistant acknowledgement ("mhm") inside the user's turn is a backchannel: held back, and
 * dropped when the user carries on.
 */

/** @typedef {'user' | 'assistant'} Speaker */
/** @typedef {'speaker_change' | 'inactivity' | 'timestamp_reset' | 'session_closed' | 'manual'} CloseReason */

/**
 * @typedef {object} GrouperOptions  timing thresholds in ms
 * @property {number} minTurnSeparationMs
 * @property {number} assistantSilenceMs
 * @property {number} backchannelMaxDurationMs
 * @property {number} backchannelIsolationMs
 * @property {readonly string[]} additionalAcknowledgments
 */

/** @type {Readonly<GrouperOptions>} the SDKs' defaults */
export const GROUPER_DEFAULTS = Object.freeze({
  minTurnSeparationMs: 500,
  assistantSilenceMs: 2000,
  backchannelMaxDurationMs: 1000,
  backchannelIsolationMs: 2000,
  additionalAcknowledgments: [],
});

/**
 * @typedef {object} Fragment
 * @property {Speaker} speaker
 * @property {string} text
 * @property {number} startMs
 * @property {number} endMs
 */

/**
 * A display snapshot of one turn: replace what is shown with each one.
 * @typedef {object} Segment
 * @property {string} id          local to this grouping
 * @property {string | null} previousId
 * @property {Speaker} speaker
 * @property {string} text
 * @property {number} startMs
 * @property {number} endMs
 */

/**
 * @typedef {{segment: Segment, closed?: CloseReason}} GroupingUpdate  a snapshot; `closed` when it is the
 *   turn's last one, and why
 */

/** The SDKs' built-in acknowledgement phrases, normalised. */
const ACKNOWLEDGMENTS = [
  'aha', 'alright', 'gotcha', 'hm', 'hmm', 'mhm', 'mm', 'mm hmm', 'okay', 'ok',
  'right', 'sure', 'uh huh', 'yeah', 'yep', 'yes',
];

/**
 * Case, hyphens, whitespace and surrounding punctuation normalised, as the SDKs do.
 * @param {string} text
 */
export function normalizeAcknowledgment(text) {
  return text
    .toLowerCase()
    .replaceAll('-', ' ')
    .replace(/^[\s.,!?;:"'()[\]{}]+|[\s.,!?;:"'()[\]{}]+$/g, '')
    .replace(/\s+/g, ' ');
}


/**
 * @typedef {object} Turn
 * @property {Speaker} speaker
 * @property {string} text
 * @property {number} startMs
 * @property {number} endMs
 * @property {string} id
 * @property {string | null} previousId
 * @property {boolean} emitted
 * @property {boolean} canDropAsBackchannel
 */

export class TranscriptGrouping {
  /** @type {GrouperOptions} */
  #options;
  #idPrefix;
  /** @type {string[]} */
  #acknowledgments;
  /** @type {Turn | null} */
  #current = null;
  /** @type {Turn | null} */
  #buffered = null;
  /** @type {string | null} */
  #lastId = null;
  #nextId = 0;
  /** @type {number | null} */
  #lastAssistantEnd = null;

  /**
   * @param {GrouperOptions} options
   * @param {string} idPrefix
   */
  constructor(options, idPrefix) {
    this.#options = options;
    this.#idPrefix = idPrefix;
    this.#acknowledgments = [
      ...ACKNOWLEDGMENTS,
      ...options.additionalAcknowledgments.map(normalizeAcknowledgment).filter(Boolean),
    ];
  }

  /** @returns {Speaker | null} */
  get speaker() {
    return this.#current?.speaker ?? null;
  }

  /**
   * Fragments received together (same interval), the current speaker's first.
   * @param {Fragment[]} fragments
   * @returns {GroupingUpdate[]}
   */
  process(fragments) {
    /** @type {GroupingUpdate[]} */
    const events = [];
    const preferred = this.speaker ?? 'user';
    const ordered = [
      ...fragments.filter((part) => part.speaker === preferred),
      ...fragments.filter((part) => part.speaker !== preferred),
    ];
    if (ordered.length === 0) return events;
    const first = ordered[0];
    let deadline = this.deadline();
    while (deadline !== null && deadline < first.startMs) {
      events.push(...this.advance(deadline));
      deadline = this.deadline();
    }
    if (this.#current && !ordered.some((part) => part.speaker === this.speaker)) {
      events.push(...this.advance(first.startMs, ordered.some((part) => part.speaker === 'user')));
    }
    for (const fragment of ordered) events.push(...this.#ingest(fragment));
    return events;
  }

  /**
   * @param {number} timeMs  on the session's timeline
   * @param {boolean} [hasIncomingUser]
   * @returns {GroupingUpdate[]}
   */
  advance(timeMs, hasIncomingUser = false) {
    const current = this.#current;
    if (
      current &&
      this.#buffered &&
      timeMs >= current.endMs + this.#options.minTurnSeparationMs &&
      !this.#keepBackchannel(timeMs)
    ) {
      this.#buffered = this.#maybeDropBackchannel(timeMs);
      if (this.#buffered) return this.#promote();
    }
    if (
      this.#current?.speaker === 'assistant' &&
      !hasIncomingUser &&
      timeMs >= this.#current.endMs + this.#options.assistantSilenceMs
    ) {
      return this.#finishCurrent('inactivity');
    }
    return [];
  }

  /** @returns {number | null} the session time at which `advance` would change something */
  deadline() {
    const current = this.#current;
    if (!current) return null;
    if (this.#buffered) {
      const separation = current.endMs + this.#options.minTurnSeparationMs;
      if (
        this.#mightBeBackchannel() &&
        this.#buffered.canDropAsBackchannel &&
        !this.#userContinued() &&
        !this.#recentAssistant()
      ) {
        return Math.max(separation, this.#buffered.endMs + this.#options.backchannelIsolationMs);
      }
      return separation;
    }
    if (current.speaker === 'assistant') return current.endMs + this.#options.assistantSilenceMs;
    return null;
  }

  /**
   * @param {number} timeMs
   * @param {CloseReason} reason
   * @returns {GroupingUpdate[]}
   */
  close(timeMs, reason) {
    const buffered = this.#maybeDropBackchannel(timeMs);
    const events = this.#finishCurrent(reason);
    this.#buffered = null;
    if (buffered?.text) {
      events.push(...this.#emit(buffered), ...this.#finish(buffered, reason));
    }
    if (reason === 'timestamp_reset') this.#lastAssistantEnd = null;
    return events;
  }

  /**
   * @param {Fragment} fragment
   * @returns {GroupingUpdate[]}
   */
  #ingest(fragment) {
    if (!this.#current) {
      this.#current = this.#newTurn(fragment);
      return this.#emit(this.#current);
    }
    if (fragment.speaker === this.#current.speaker) {
      append(this.#current, fragment, this.#buffered !== null);
      return this.#emit(this.#current);
    }
    if (this.#current.speaker === 'user' && this.#userContinued()) this.#buffered = null;
    const separation = fragment.startMs - this.#current.endMs;
    if (this.#current.speaker === 'assistant') {
      this.#buffer(fragment);
      return this.#promote();
    }
    if (separation < this.#options.minTurnSeparationMs) {
      this.#buffer(fragment, this.#possibleAcknowledgment(fragment));
      return [];
    }
    if (this.#buffered && this.#standaloneAcknowledgment(fragment, this.#buffered)) {
      this.#buffer(fragment, true);
      return [];
    }
    if (!this.#buffered && this.#standaloneAcknowledgment(fragment)) {
      this.#buffer(fragment, false);
      return [];
    }
    this.#buffered = this.#maybeDropBackchannel(undefined, fragment);
    const events = this.#finishCurrent('speaker_change');
    if (this.#buffered) {
      this.#current = this.#buffered;
      this.#buffered = null;
      append(this.#current, fragment);
    } else {
      this.#current = this.#newTurn(fragment);
    }
    events.push(...this.#emit(this.#current));
    return events;
  }

  /**
   * @param {Fragment} fragment
   * @returns {Turn}
   */
  #newTurn(fragment) {
    const turn = {
      speaker: fragment.speaker,
      text: fragment.text,
      startMs: fragment.startMs,
      endMs: fragment.endMs,
      id: `${this.#idPrefix}_${this.#nextId}`,
      previousId: null,
      emitted: false,
      canDropAsBackchannel: true,
    };
    this.#nextId += 1;
    return turn;
  }

  /**
   * @param {Fragment} fragment
   * @param {boolean} [canDrop]
   */
  #buffer(fragment, canDrop) {
    if (this.#buffered) append(this.#buffered, fragment);
    else this.#buffered = this.#newTurn(fragment);
    if (canDrop !== undefined) this.#buffered.canDropAsBackchannel = canDrop;
  }

  /** @returns {GroupingUpdate[]} */
  #promote() {
    if (!this.#buffered) return [];
    const events = this.#finishCurrent('speaker_change');
    this.#current = this.#buffered;
    this.#buffered = null;
    events.push(...this.#emit(this.#current));
    return events;
  }

  /**
   * @param {CloseReason} reason
   * @returns {GroupingUpdate[]}
   */
  #finishCurrent(reason) {
    const current = this.#current;
    this.#current = null;
    return current ? this.#finish(current, reason) : [];
  }

  /**
   * @param {Turn} turn
   * @param {CloseReason} reason
   * @returns {GroupingUpdate[]}
   */
  #finish(turn, reason) {
    if (turn.speaker === 'assistant') this.#lastAssistantEnd = turn.endMs;
    return turn.emitted ? [{ segment: snapshot(turn), closed: reason }] : [];
  }

  /**
   * @param {Turn} turn
   * @returns {GroupingUpdate[]}
   */
  #emit(turn) {
    if (!turn.text) return [];
    if (!turn.emitted) {
      turn.previousId = this.#lastId;
      this.#lastId = turn.id;
      turn.emitted = true;
    }
    return [{ segment: snapshot(turn) }];
  }

  #mightBeBackchannel() {
    const buffered = this.#buffered;
    return (
      this.#current?.speaker === 'user' &&
      buffered?.speaker === 'assistant' &&
      buffered.endMs - buffered.startMs < this.#options.backchannelMaxDurationMs
    );
  }

  #userContinued() {
    return (
      this.#mightBeBackchannel() &&
      Boolean(this.#buffered?.canDropAsBackchannel) &&
      this.#current !== null &&
      this.#buffered !== null &&
      this.#current.endMs > this.#buffered.endMs
    );
  }

  #recentAssistant() {
    const current = this.#current;
    const buffered = this.#buffered;
    return (
      current !== null &&
      buffered !== null &&
      this.#lastAssistantEnd !== null &&
      buffered.startMs - this.#lastAssistantEnd < this.#options.backchannelIsolationMs &&
      buffered.startMs <= current.startMs
    );
  }

  /** @param {number} timeMs */
  #keepBackchannel(timeMs) {
    return (
      this.#mightBeBackchannel() &&
      this.#buffered !== null &&
      this.#buffered.canDropAsBackchannel &&
      !this.#userContinued() &&
      !this.#recentAssistant() &&
      timeMs < this.#buffered.endMs + this.#options.backchannelIsolationMs
    );
  }

  /**
   * @param {number} [timeMs]
   * @param {Fragment} [nextFragment]
   * @returns {Turn | null}
   */
  #maybeDropBackchannel(timeMs, nextFragment) {
    const buffered = this.#buffered;
    if (!this.#mightBeBackchannel() || !buffered) return buffered;
    if (this.#userContinued()) return null;
    if (this.#recentAssistant()) return buffered;
    const isolation = this.#options.backchannelIsolationMs;
    if (nextFragment && nextFragment.startMs - buffered.endMs < isolation) return buffered;
    if (!nextFragment && (timeMs === undefined || timeMs < buffered.endMs + isolation)) return buffered;
    return buffered.canDropAsBackchannel ? null : buffered;
  }

  /**
   * @param {Fragment} fragment
   * @param {Turn | null} [previous]
   */
  #standaloneAcknowledgment(fragment, previous = null) {
    return (
      fragment.endMs - (previous ? previous.startMs : fragment.startMs) < this.#options.backchannelMaxDurationMs &&
      this.#acknowledgments.includes(normalizeAcknowledgment((previous?.text ?? '') + fragment.text))
    );
  }

  /** @param {Fragment} fragment */
  #possibleAcknowledgment(fragment) {
    const buffered = this.#buffered;
    const text = normalizeAcknowledgment((buffered?.text ?? '') + fragment.text);
    return (
      fragment.endMs - (buffered ? buffered.startMs : fragment.startMs) < this.#options.backchannelMaxDurationMs &&
      text !== '' &&
      this.#acknowledgments.some((ack) => ack.startsWith(text))
    );
  }
}

/**
 * Adds a fragment's text to a turn; a space only between two words of text buffered apart.
 * @param {Turn} turn
 * @param {Fragment} fragment
 * @param {boolean} [separate]
 */
function append(turn, fragment, separate = false) {
  // Letters and numbers of any script (the SDKs' Unicode categories L and N).
  const spaced = separate && /[\p{L}\p{N}]$/u.test(turn.text) && /^[\p{L}\p{N}]/u.test(fragment.text);
  turn.text += (spaced ? ' ' : '') + fragment.text;
  turn.endMs = Math.max(turn.endMs, fragment.endMs);
}

/**
 * @param {Turn} turn
 * @returns {Segment}
 */
function snapshot(turn) {
  const { id, previousId, speaker, text, startMs, endMs } = turn;
  return { id, previousId, speaker, text, startMs, endMs };
}
