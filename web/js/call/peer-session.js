/**
 * One session with the Realtime API: one RTCPeerConnection, its `oai-events` data channel, its
 * timers and its listeners, set up together and undone together by one `close()`.
 *
 * Every listener and timer is tied to one AbortController, so `close()` (or a failed `open()`
 * followed by `close()`) leaves nothing behind and no event of this session reaches the call
 * afterwards. The microphone's track is sent, never stopped here: the Microphone owns it, and the
 * call reuses it across sessions.
 *
 * Events, until `close()`:
 * - `serverevent` (detail: the server event), for every event but `session_expired`;
 * - `remotetrack` (detail: {stream}), the assistant's audio;
 * - `lost` (detail: {error}), at most once, when an open session ends without `close()`: the peer
 *   connection failed, stayed disconnected past the grace period, its channel closed, or the server
 *   said `session_expired`.
 */
import { EVENT_CHANNEL_LABEL, EventChannel } from './event-channel.js';
import { MARKS } from './marks.js';
import { UserFacingError } from '../user-facing-error.js';

/**
 * @typedef {object} PeerSessionOptions
 * @property {import('./client-secret-negotiator.js').Negotiator} negotiator  for this session only
 * @property {import('../microphone.js').Microphone} microphone
 * @property {string} [deviceId]          the preferred input device
 * @property {number} sessionTimeoutMs    how long to wait for `session.created`
 * @property {number} disconnectGraceMs   how long `disconnected` may last: ICE often recovers by itself
 */

export class PeerSession extends EventTarget {
  /** Aborted by close(): removes every listener, clears every timer, cancels every request. */
  #abort = new AbortController();
  /** @type {PeerSessionOptions} */
  #options;
  /** @type {RTCPeerConnection | null} */
  #pc = null;
  /** @type {RTCRtpSender | null} */
  #sender = null;
  /** @type {EventChannel | null} */
  #channel = null;
  #established = false;
  #lost = false;

  /** @param {PeerSessionOptions} options */
  constructor(options) {
    super();
    this.#options = options;
  }

  /** @returns {AbortSignal} aborts when the session is closed; for listeners on this session */
  get signal() {
    return this.#abort.signal;
  }

  /** @returns {RTCPeerConnection | null} */
  get peerConnection() {
    return this.#pc;
  }

  /** @returns {boolean} whether client events can be sent */
  get isOpen() {
    return this.#channel?.isOpen ?? false;
  }

  /**
   * Sets up the connection. The client secret, the microphone and the offer are prepared in
   * parallel; the offer is posted as soon as all three are ready, without waiting for ICE
   * gathering: the answer carries the server's candidates, and the server learns ours from our
   * connectivity checks (waiting for gathering costs ~100 ms and buys nothing here).
   * Resolves on `session.created`. On failure it rejects and the caller must `close()`.
   * @returns {Promise<void>}
   */
  async open() {
    const { negotiator, microphone, deviceId } = this.#options;
    const signal = this.#abort.signal;
    // Started before any await, so they overlap: the token round trip (the longest, so it goes
    // first), the device prompt and the offer creation.
    const prepared = negotiator.prepare(signal);
    const opened = microphone.open(deviceId);
    const pc = new RTCPeerConnection();
    this.#pc = pc;
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    this.#sender = transceiver.sender;
    this.#channel = new EventChannel(pc.createDataChannel(EVENT_CHANNEL_LABEL));
    const created = this.#watch(pc, this.#channel);
    // Awaited after the SDP exchange; if an earlier step fails, that step's error is the one to report.
    created.catch(() => {});
    const offered = pc.createOffer().then((offer) => pc.setLocalDescription(offer));
    const [, track] = await Promise.all([prepared, opened, offered]);
    this.#throwIfClosed();
    // The microphone may have been swapped for another device meanwhile: send the current track.
    await transceiver.sender.replaceTrack(microphone.track ?? track);

    const answer = await negotiator.exchange(/** @type {RTCSessionDescription} */ (pc.localDescription).sdp, signal);
    this.#throwIfClosed();
    performance.mark(MARKS.answer);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await created;
    this.#throwIfClosed();
    this.#established = true;
  }

  /**
   * Sends one client event.
   * @param {{type: string} & Record<string, unknown>} event
   * @returns {boolean} false if the channel is not open
   */
  send(event) {
    return this.#channel?.send(event) ?? false;
  }

  /**
   * Sends another track on the same sender: no renegotiation, the session carries on.
   * @param {MediaStreamTrack} track
   * @returns {Promise<void>}
   */
  async replaceTrack(track) {
    if (!this.#abort.signal.aborted) await this.#sender?.replaceTrack(track);
  }

  /** Undoes everything `open()` set up: listeners, timers, requests, channel, connection. Idempotent. */
  close() {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort(new DOMException('The session was closed.', 'AbortError'));
    this.#channel?.close();
    this.#pc?.close();
  }

  /**
   * Wires the session's listeners. Resolves on `session.created`; rejects if the connection fails
   * first or the server stays silent.
   * @param {RTCPeerConnection} pc
   * @param {EventChannel} channel
   * @returns {Promise<void>}
   */
  #watch(pc, channel) {
    const signal = this.#abort.signal;
    return new Promise((resolve, reject) => {
      let settled = false;
      /** @param {UserFacingError} error */
      const lose = (error) => {
        if (!settled) {
          settled = true;
          reject(error);
        } else if (this.#established && !this.#lost) {
          this.#lost = true;
          this.dispatchEvent(new CustomEvent('lost', { detail: { error } }));
        }
      };
      const dropped = (/** @type {string} */ code) =>
        lose(
          new UserFacingError('The connection to the voice service failed. Check your network, then try again.', {
            code,
            retryable: true,
          }),
        );
      this.#after(this.#options.sessionTimeoutMs, () => {
        if (settled) return;
        lose(
          new UserFacingError('The voice service did not answer in time. Try again in a moment.', {
            code: 'session_timeout',
            retryable: true,
          }),
        );
      });
      signal.addEventListener('abort', () => {
        if (settled) return;
        settled = true;
        reject(signal.reason);
      });

      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let grace;
      pc.addEventListener(
        'track',
        (event) => {
          performance.mark(MARKS.remoteTrack);
          const stream = event.streams[0] ?? new MediaStream([event.track]);
          this.dispatchEvent(new CustomEvent('remotetrack', { detail: { stream } }));
        },
        { signal },
      );
      pc.addEventListener(
        'connectionstatechange',
        () => {
          clearTimeout(grace);
          if (pc.connectionState === 'failed') dropped('connection_failed');
          // ICE may recover from a short outage on its own; only a lasting one needs a new session.
          if (pc.connectionState === 'disconnected') {
            grace = this.#after(this.#options.disconnectGraceMs, () => dropped('connection_lost'));
          }
        },
        { signal },
      );
      channel.addEventListener(
        'serverevent',
        (/** @type {Event} */ message) => {
          const event = /** @type {CustomEvent} */ (message).detail;
          if (event.type === 'error' && event.error?.code === 'session_expired') {
            lose(
              new UserFacingError('The voice session reached its time limit.', {
                code: 'session_expired',
                retryable: true,
              }),
            );
            return;
          }
          if (event.type === 'session.created' && !settled) {
            settled = true;
            resolve();
          }
          this.dispatchEvent(new CustomEvent('serverevent', { detail: event }));
        },
        { signal },
      );
      channel.addEventListener('open', () => performance.mark(MARKS.channelOpen), { once: true, signal });
      // Only a close we did not ask for: EventChannel.close() detaches before closing.
      channel.addEventListener('close', () => dropped('channel_closed'), { signal });
    });
  }

  /**
   * A timer that close() clears.
   * @param {number} ms
   * @param {() => void} callback
   * @returns {ReturnType<typeof setTimeout>}
   */
  #after(ms, callback) {
    const timer = setTimeout(callback, ms);
    this.#abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    return timer;
  }

  #throwIfClosed() {
    this.#abort.signal.throwIfAborted();
  }
}
