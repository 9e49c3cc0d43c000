/**
 * One session with the voice service (the Realtime API, or GPT-Live): one RTCPeerConnection, its
 * `oai-events` data channel (created before the offer, as both require), its timers and its
 * listeners, set up together and undone together by one `close()`. The session is ready on its
 * protocol's `readyEvent`, or when the channel opens (GPT-Live sends the page nothing at start).
 * `session_expired` and the `output_audio_buffer.*` events below are the Realtime API's; GPT-Live
 * sends neither, so for its sessions those two watches stay idle.
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
 *   connection failed, stayed disconnected past the grace period, its channel closed, the server
 *   said `session_expired`, or the path went dead (error code `connection_stalled`, see below).
 *
 * A dead path: Chromium needs ~5.5 s of unanswered ICE consent checks to call a path `disconnected`,
 * then the grace period. The session watches the selected candidate pair's statistics instead
 * (every packet the remote sends lands there: RTP, RTCP, SCTP, STUN) and calls the path dead when
 * nothing at all has arrived for `stallMs` and one of these says something should have:
 * - the assistant is speaking (between `output_audio_buffer.started` and `.stopped`/`.cleared`):
 *   its audio must be flowing;
 * - the remote has been seen streaming without a gap while idle (for `proofMs`): it sends audio,
 *   silence included, all the time. The stand-in does; for OpenAI this is learned, not assumed: a
 *   remote that pauses when idle shows a gap that ends by itself, and this reason is then off for
 *   the page's later sessions too;
 * - two of our own ICE checks, sent after the last packet arrived, went unanswered (the oldest for
 *   `confirmMs`, or 4 round trips): holds for any remote, but Chromium checks only every ~2.5 s.
 */
import { EVENT_CHANNEL_LABEL, EventChannel } from './event-channel.js';
import { MARKS } from './marks.js';
import { UserFacingError } from '../user-facing-error.js';

/**
 * @typedef {object} PeerSessionOptions
 * @property {import('./client-secret-negotiator.js').Negotiator} negotiator  for this session only
 * @property {string | null} readyEvent  the server event that says the session is ready (Realtime's
 *   `session.created`); null: the data channel's `open` (GPT-Live tells the page nothing at start)
 * @property {import('../microphone.js').Microphone} microphone
 * @property {string} [deviceId]          the preferred input device
 * @property {number} sessionTimeoutMs    how long to wait for the session to be ready
 * @property {number} disconnectGraceMs   how long `disconnected` may last: ICE often recovers by itself
 * @property {Partial<PathWatchOptions>} [pathWatch]  the dead-path detector's thresholds
 * @property {import('./prepare.js').PreparedPeer | null} [prepared]  a peer connection prepared before
 *   the click, adopted (and from then on owned) by this session
 */

/**
 * @typedef {object} PathWatchOptions
 * @property {number} pollMs       how often the statistics are read
 * @property {number} stallMs      nothing received for this long, with a reason to expect something: dead
 * @property {number} steadyGapMs  a longer silence ends a proof that the remote streams
 * @property {number} pauseGapMs   a silence this long that ends by itself: the remote pauses when idle
 * @property {number} proofMs      idle traffic without such a gap for this long: the remote streams all the time
 * @property {number} confirmMs    how long two of our ICE checks must stay unanswered (at least 4 round trips)
 */

/** @type {Readonly<PathWatchOptions>} */
export const PATH_WATCH_DEFAULTS = Object.freeze({
  pollMs: 200,
  stallMs: 1000,
  steadyGapMs: 400,
  // A loaded server or a jittery network leaves gaps of a few hundred ms on a live path; a remote that
  // pauses when idle is silent for whole idle periods, seconds.
  pauseGapMs: 800,
  proofMs: 1200,
  confirmMs: 600,
});

/**
 * @typedef {object} RemoteCadence
 * @property {boolean} streams  seen sending without a gap while idle, for `proofMs`
 * @property {boolean} pauses   seen falling silent on a live path and coming back: silence proves nothing
 */

/** The page's remote: every session of a page talks to the same Realtime service. */
const remoteCadence = { streams: false, pauses: false };

/** @returns {RemoteCadence} a copy of what the page's sessions learned about the remote (diagnostics, tests) */
export function learnedCadence() {
  return { ...remoteCadence };
}

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
  /** The assistant's audio is being streamed to us (output_audio_buffer.started until stopped/cleared). */
  #speaking = false;
  /** @type {import('./dead-path.js').DeadPathDetector | null} */
  #detector = null;
  /** Reports a dropped connection (set up by #watch). @type {(code: string) => void} */
  #dropped = () => {};

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

  /** @returns {import('./dead-path.js').DeadPathDetector | null} the dead-path detector, once the session is open (for tests) */
  get pathWatch() {
    return this.#detector;
  }

  /** @returns {boolean} whether client events can be sent */
  get isOpen() {
    return this.#channel?.isOpen ?? false;
  }

  /**
   * Sets up the connection. The client secret, the microphone and the offer are prepared in
   * parallel; the offer is posted as soon as all three are ready, without waiting for ICE
   * gathering: the answer carries the server's candidates, and the server learns ours from our
   * connectivity checks (waiting for gathering costs ~100 ms and buys nothing here). A prepared peer
   * connection is adopted: its offer is already set (its candidates gathered, too).
   * Resolves when the session is ready (`readyEvent`). On failure it rejects and the caller must `close()`.
   * @returns {Promise<void>}
   */
  async open() {
    const { negotiator, microphone, deviceId } = this.#options;
    const signal = this.#abort.signal;
    // Started before any await, so they overlap: the token round trip (the longest, so it goes
    // first), the device prompt and the offer creation.
    const prepared = negotiator.prepare(signal);
    const opened = microphone.open(deviceId);
    const { pc, transceiver, channel, offered: preparedOffer } = this.#options.prepared ?? freshPeer();
    this.#pc = pc;
    this.#sender = transceiver.sender;
    this.#channel = new EventChannel(channel);
    const created = this.#watch(pc, this.#channel);
    // Awaited after the SDP exchange; if an earlier step fails, that step's error is the one to report.
    created.catch(() => {});
    const offered = preparedOffer.then(async () => {
      if (!pc.localDescription) await pc.setLocalDescription(await pc.createOffer());
    });
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
    void this.#watchPath(pc);
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
   * Wires the session's listeners. Resolves when the session is ready; rejects if the connection fails
   * first or the server stays silent.
   * @param {RTCPeerConnection} pc
   * @param {EventChannel} channel
   * @returns {Promise<void>}
   */
  #watch(pc, channel) {
    const signal = this.#abort.signal;
    return new Promise((resolve, reject) => {
      let settled = false;
      const ready = () => {
        if (settled) return;
        settled = true;
        resolve();
      };
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
      this.#dropped = dropped;
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
          if (event.type === 'output_audio_buffer.started') this.#speaking = true;
          if (event.type === 'output_audio_buffer.stopped' || event.type === 'output_audio_buffer.cleared') {
            this.#speaking = false;
          }
          if (event.type === this.#options.readyEvent) ready();
          this.dispatchEvent(new CustomEvent('serverevent', { detail: event }));
        },
        { signal },
      );
      channel.addEventListener(
        'open',
        () => {
          performance.mark(MARKS.channelOpen);
          if (!this.#options.readyEvent) ready();
        },
        { once: true, signal },
      );
      // Only a close we did not ask for: EventChannel.close() detaches before closing.
      channel.addEventListener('close', () => dropped('channel_closed'), { signal });
    });
  }

  /**
   * Reads the selected candidate pair every `pollMs` until the session closes or is lost, and
   * reports a dead path as a dropped connection (`connection_stalled`).
   * @param {RTCPeerConnection} pc
   */
  async #watchPath(pc) {
    const options = { ...PATH_WATCH_DEFAULTS, ...this.#options.pathWatch };
    // Loaded once a session is open (most pages never watch a path): not part of the first load.
    const { DeadPathDetector, selectedPair } = await import('./dead-path.js');
    if (this.#abort.signal.aborted) return;
    const detector = new DeadPathDetector(options, remoteCadence);
    this.#detector = detector;
    const poll = async () => {
      if (this.#abort.signal.aborted || this.#lost) return;
      let sample = null;
      try {
        sample = selectedPair(await pc.getStats());
      } catch {
        return; // the connection was closed meanwhile
      }
      if (this.#abort.signal.aborted || this.#lost) return;
      const reason = sample && detector.observe(sample, this.#speaking);
      if (reason) {
        this.#dropped('connection_stalled');
        return;
      }
      this.#after(options.pollMs, poll);
    };
    this.#after(options.pollMs, poll);
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

/**
 * A peer connection shaped for a call, its offer not yet made.
 * @returns {import('./prepare.js').PreparedPeer}
 */
function freshPeer() {
  const pc = new RTCPeerConnection();
  const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
  const channel = pc.createDataChannel(EVENT_CHANNEL_LABEL);
  return { pc, transceiver, channel, offered: Promise.resolve() };
}
