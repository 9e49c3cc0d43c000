/**
 * Prepares what a call needs before the click, when the pointer or the keyboard focus reaches the call
 * button, without opening anything that costs or asks: no session, no client secret, no call at our
 * API, and no microphone prompt (that waits for the click).
 *
 * What it warms:
 * - the function: `GET /api/warm` runs its init if no execution environment is warm, so the click's
 *   request does not wait for a cold start (~0.7 s). Once per idle spell (`spellMs` since the page last
 *   reached the API), without a token (the route mints nothing; tokens go only where they are needed),
 *   and its answer is ignored: a warm-up refused by the route's own throttle costs nothing. The same
 *   request warms the browser's connection to our origin;
 * - in client-secret mode, the connection to the realtime origin (a new preconnect: an unused one is
 *   dropped after a while);
 * - WebRTC: a peer connection with the call's shape (a sendrecv audio transceiver, the events channel),
 *   its offer set and ICE gathered. The call adopts it with `take()` (the microphone's track is attached
 *   later with replaceTrack), so the click skips the first peer connection's start-up (WebRTC's threads,
 *   network enumeration, the audio device module) and the offer. Host candidates only: no packet leaves
 *   the machine.
 *
 * A peer connection not adopted within `idleMs` is closed.
 *
 * Switchable for the benchmark: config `prepareOnIntent` (config.json `prepareOnIntent: false`, or the
 * page's `?prepare=off`).
 */
import { EVENT_CHANNEL_LABEL } from './event-channel.js';
import { preconnect } from '../preconnect.js';

/** A preparation unused for this long is thrown away (a peer connection holds ports and threads). */
const IDLE_MS = 30_000;
/** Prepared again at most this often: hovering back and forth must not open connection after connection. */
const REPEAT_AFTER_MS = 10_000;
/**
 * An idle spell, for warm-ups: Lambda keeps an idle execution environment for some minutes, so within
 * this long of the page's last request to the API one warm-up is all it takes.
 */
const SPELL_MS = 5 * 60_000;

/**
 * @typedef {object} PreparedPeer
 * @property {RTCPeerConnection} pc
 * @property {RTCRtpTransceiver} transceiver  sendrecv, no track yet
 * @property {RTCDataChannel} channel          the events channel
 * @property {Promise<void>} offered           settles once the local description is set (or failed to be)
 */

export class CallPreparation extends EventTarget {
  /** @type {PreparedPeer | null} */
  #peer = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #discardTimer;
  #preparedAt = -Infinity;
  /** When the page last reached the function (a warm-up, or a call's requests). */
  #reachedAt = -Infinity;
  /** How many times it prepared (for tests and the benchmark). */
  count = 0;
  /** How many warm-ups it sent (for tests and the benchmark). */
  warmUps = 0;

  /**
   * @param {object} options
   * @param {{negotiation: string, realtimeCallsUrl: string, warmUrl: string}} options.config
   * @param {number} [options.idleMs]
   * @param {number} [options.spellMs]
   */
  constructor({ config, idleMs = IDLE_MS, spellMs = SPELL_MS }) {
    super();
    this.config = config;
    this.idleMs = idleMs;
    this.spellMs = spellMs;
  }

  /**
   * Prepares whenever the pointer or focus reaches `button`.
   * @param {HTMLElement} button
   * @param {AbortSignal} [signal]
   */
  arm(button, signal) {
    for (const type of ['pointerenter', 'focus', 'touchstart']) {
      button.addEventListener(type, () => this.prepare(), { passive: true, signal });
    }
  }

  /** Prepares now, unless it did a moment ago. */
  prepare() {
    const now = performance.now();
    this.#scheduleDiscard();
    if (now - this.#reachedAt >= this.spellMs) this.#warmUp(now);
    if (now - this.#preparedAt < REPEAT_AFTER_MS) return;
    this.#preparedAt = now;
    this.count += 1;
    if (this.config.negotiation === 'client_secret') preconnect(this.config.realtimeCallsUrl);
    if (!this.#peer) this.#peer = preparePeer();
    this.dispatchEvent(new Event('prepared'));
  }

  /** The page's call just reached the API: the function is warm, no warm-up this spell. */
  reached() {
    this.#reachedAt = performance.now();
  }

  /**
   * The prepared peer connection, once; null if there is none (the caller makes its own).
   * @returns {PreparedPeer | null}
   */
  take() {
    const peer = this.#peer;
    this.#peer = null;
    return peer;
  }

  /** Closes whatever is prepared. */
  discard() {
    clearTimeout(this.#discardTimer);
    this.#peer?.channel.close();
    this.#peer?.pc.close();
    this.#peer = null;
    this.#preparedAt = -Infinity;
  }

  /** @param {number} now */
  #warmUp(now) {
    this.#reachedAt = now;
    this.warmUps += 1;
    // No Authorization header, no cookie: the route needs neither, and a token goes only where it is needed.
    void fetch(this.config.warmUrl, { cache: 'no-store', credentials: 'omit' }).catch(() => {});
  }

  #scheduleDiscard() {
    clearTimeout(this.#discardTimer);
    this.#discardTimer = setTimeout(() => this.discard(), this.idleMs);
  }
}

/**
 * A peer connection shaped like a call's, with its offer being set and ICE gathering under way.
 * @returns {PreparedPeer}
 */
function preparePeer() {
  const pc = new RTCPeerConnection();
  const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
  const channel = pc.createDataChannel(EVENT_CHANNEL_LABEL);
  // A failure leaves no local description: the adopter then makes the offer itself.
  const offered = pc
    .createOffer()
    .then((offer) => pc.setLocalDescription(offer))
    .catch(() => {});
  return { pc, transceiver, channel, offered };
}
