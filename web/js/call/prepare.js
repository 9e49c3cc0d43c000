/**
 * Prepares what a call needs before the click, when the pointer or the keyboard focus reaches the call
 * button, without opening anything that costs or asks: no session, no client secret, no call at our
 * API, and no microphone prompt (that waits for the click).
 *
 * What it warms:
 * - the connection to our API (a HEAD of config.json, same origin, nothing minted): after a minute
 *   on the page the browser may have closed the one it used to load it, and the first request of a
 *   call would pay for DNS, TCP and TLS again;
 * - in client-secret mode, the connection to the realtime origin (a new preconnect: an unused one is
 *   dropped after a while);
 * - the browser's WebRTC machinery: a peer connection with the call's shape (a sendrecv audio
 *   transceiver, the events channel), an offer and ICE gathering. The first peer connection of a
 *   page starts WebRTC's threads, network enumeration and audio device module; paid here, it is not
 *   paid after the click. Host candidates only: no packet leaves the machine.
 *
 * What is prepared is discarded after `idleMs` without a click. `take()` hands the prepared peer
 * connection to whoever can adopt it (its track is attached later with replaceTrack); until then it
 * is closed once gathered, as a warm-up.
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
 * @typedef {object} PreparedPeer
 * @property {RTCPeerConnection} pc
 * @property {RTCRtpTransceiver} transceiver  sendrecv, no track yet
 * @property {RTCDataChannel} channel          the events channel
 * @property {Promise<void>} offered           the local description is set
 */

export class CallPreparation extends EventTarget {
  /** @type {PreparedPeer | null} */
  #peer = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #discardTimer;
  #preparedAt = -Infinity;
  /** How many times it prepared (for tests and the benchmark). */
  count = 0;

  /**
   * @param {object} options
   * @param {{negotiation: string, realtimeCallsUrl: string, credentials?: import('../auth/credentials.js').ApiCredentials}} options.config
   * @param {URL | string} [options.warmUrl]  a cheap same-origin resource to request
   * @param {number} [options.idleMs]
   */
  constructor({ config, warmUrl = new URL('config.json', document.baseURI), idleMs = IDLE_MS }) {
    super();
    this.config = config;
    this.warmUrl = String(warmUrl);
    this.idleMs = idleMs;
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
    if (now - this.#preparedAt < REPEAT_AFTER_MS) return;
    this.#preparedAt = now;
    this.count += 1;
    // A HEAD: nothing to parse, and nothing the server counts.
    // Signed in, with the token: without one the JWT authorizer answers and the function stays cold.
    const headers = this.config.credentials?.headersNow() ?? {};
    void fetch(this.warmUrl, { method: 'HEAD', headers, cache: 'no-store', credentials: 'same-origin' }).catch(() => {});
    if (this.config.negotiation === 'client_secret') preconnect(this.config.realtimeCallsUrl);
    if (!this.#peer) this.#peer = preparePeer(() => this.#warmedUp());
    this.dispatchEvent(new Event('prepared'));
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

  #scheduleDiscard() {
    clearTimeout(this.#discardTimer);
    this.#discardTimer = setTimeout(() => this.discard(), this.idleMs);
  }

  /** Nothing adopts a prepared peer connection yet: once it has done its warming, it goes. */
  #warmedUp() {
    const peer = this.#peer;
    if (!peer) return;
    this.#peer = null;
    peer.channel.close();
    peer.pc.close();
  }
}

/**
 * A peer connection shaped like a call's, with its offer set and ICE gathering under way.
 * @param {() => void} gathered  called once gathering is complete (or failed)
 * @returns {PreparedPeer}
 */
function preparePeer(gathered) {
  const pc = new RTCPeerConnection();
  const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
  const channel = pc.createDataChannel(EVENT_CHANNEL_LABEL);
  pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') gathered();
  });
  const offered = pc
    .createOffer()
    .then((offer) => pc.setLocalDescription(offer))
    .catch(() => gathered());
  return { pc, transceiver, channel, offered };
}
