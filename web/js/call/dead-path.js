/**
 * The dead-path detector of a peer session (peer-session.js says when a path counts as dead), and the
 * statistics it reads. Loaded when a session opens.
 */

/** @typedef {import('./peer-session.js').PathWatchOptions} PathWatchOptions */
/** @typedef {import('./peer-session.js').RemoteCadence} RemoteCadence */

/**
 * @typedef {object} PairSample  one reading of the selected candidate pair
 * @property {number} at              the report's timestamp (ms)
 * @property {string} pairId
 * @property {number | undefined} lastReceivedAt  lastPacketReceivedTimestamp, where the browser has it
 * @property {number} received        packets (or bytes) received so far
 * @property {number | undefined} requestsSent  our ICE checks so far
 * @property {number | undefined} roundTripMs
 */

/**
 * Decides from successive samples of the selected candidate pair whether the path is dead. Pure:
 * no timers, no statistics API; `PeerSession` feeds it.
 */
export class DeadPathDetector {
  /** @type {PathWatchOptions} */
  #options;
  /** @type {string | null} */
  #pairId = null;
  /** When the last packet arrived: the browser's timestamp, or the first sample that saw the count move. */
  #lastReceivedAt = 0;
  #received = -1;
  /** Samples since shortly before the last packet: {at, requestsSent}. */
  /** @type {{at: number, requests: number}[]} */
  #history = [];
  /** @type {number | null} since when the remote has streamed without a gap while idle */
  #steadySince = null;
  #gapOpen = false;
  /** The longest silence seen in the open gap. */
  #gapLongest = 0;
  /** What this remote was seen to do; shared by a page's sessions, since it is the server's habit. */
  /** @type {RemoteCadence} */
  cadence;

  /**
   * @param {PathWatchOptions} options
   * @param {RemoteCadence} [cadence]  what earlier sessions learned about the remote
   */
  constructor(options, cadence = { streams: false, pauses: false }) {
    this.#options = options;
    this.cadence = cadence;
  }

  /**
   * @param {PairSample} sample
   * @param {boolean} speaking  the assistant's audio is playing out (server events)
   * @returns {'speaking' | 'streaming' | 'unanswered' | null} why the path is dead, or null
   */
  observe(sample, speaking) {
    const { stallMs, steadyGapMs, proofMs, confirmMs } = this.#options;
    if (sample.pairId !== this.#pairId) {
      // A new path (first sample, or ICE moved): what we knew about the old one does not carry over.
      this.#pairId = sample.pairId;
      this.#lastReceivedAt = sample.lastReceivedAt ?? sample.at;
      this.#received = sample.received;
      this.#history = [];
      this.#steadySince = null;
      this.#gapOpen = false;
    }
    if (sample.lastReceivedAt !== undefined) {
      this.#lastReceivedAt = Math.max(this.#lastReceivedAt, sample.lastReceivedAt);
    } else if (sample.received !== this.#received) {
      this.#lastReceivedAt = sample.at; // later than the packet itself: errs towards "alive"
    }
    this.#received = sample.received;
    this.#history.push({ at: sample.at, requests: sample.requestsSent ?? 0 });
    // Keep one sample from at or before the last packet: the baseline for "sent since".
    while (this.#history.length > 1 && this.#history[1].at <= this.#lastReceivedAt) this.#history.shift();

    const silence = sample.at - this.#lastReceivedAt;
    if (silence < steadyGapMs) {
      if (this.#gapOpen && this.#gapLongest >= this.#options.pauseGapMs) {
        // Traffic came back by itself after a long silence: this remote pauses, silence proves nothing.
        this.cadence.pauses = true;
      }
      this.#gapOpen = false;
      this.#gapLongest = 0;
      if (speaking) this.#steadySince = null;
      else {
        this.#steadySince ??= sample.at;
        if (sample.at - this.#steadySince >= proofMs) this.cadence.streams = true;
      }
      return null;
    }
    this.#gapOpen = true;
    this.#gapLongest = Math.max(this.#gapLongest, silence);
    this.#steadySince = null;
    if (silence < stallMs) return null;
    if (speaking) return 'speaking';
    if (this.cadence.streams && !this.cadence.pauses) return 'streaming';
    return this.#unansweredChecks(sample, Math.max(confirmMs, 4 * (sample.roundTripMs ?? 0))) ? 'unanswered' : null;
  }

  /**
   * Whether two or more ICE checks were sent after the last packet arrived, the oldest `waitMs` ago.
   * @param {PairSample} sample
   * @param {number} waitMs
   */
  #unansweredChecks(sample, waitMs) {
    if (sample.requestsSent === undefined) return false;
    let sent = 0;
    let oldest = Infinity;
    for (let i = 1; i < this.#history.length; i += 1) {
      const before = this.#history[i - 1];
      const after = this.#history[i];
      // Checks counted between two samples that both follow the last packet were sent after it.
      if (before.at < this.#lastReceivedAt || after.requests <= before.requests) continue;
      sent += after.requests - before.requests;
      oldest = Math.min(oldest, after.at);
    }
    return sent >= 2 && sample.at - oldest >= waitMs;
  }
}

/**
 * The selected candidate pair of a stats report, as the detector reads it.
 * @param {RTCStatsReport} report
 * @returns {PairSample | null} null before a pair is selected
 */
export function selectedPair(report) {
  /** @type {string | undefined} */
  let pairId;
  for (const stats of report.values()) {
    if (stats.type === 'transport' && stats.selectedCandidatePairId) pairId = stats.selectedCandidatePairId;
  }
  /** @type {any} */
  let pair = pairId ? report.get(pairId) : undefined;
  if (!pair) {
    // Browsers without transport stats mark the pair instead.
    for (const stats of report.values()) if (stats.type === 'candidate-pair' && stats.selected) pair = stats;
  }
  if (!pair) return null;
  return {
    at: pair.timestamp,
    pairId: pair.id,
    lastReceivedAt: pair.lastPacketReceivedTimestamp,
    received: pair.packetsReceived ?? pair.bytesReceived ?? 0,
    requestsSent: pair.requestsSent,
    roundTripMs: pair.currentRoundTripTime === undefined ? undefined : pair.currentRoundTripTime * 1000,
  };
}
