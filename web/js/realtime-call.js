/**
 * One voice call to the Realtime API over WebRTC, with an explicit state and self-healing.
 *
 * States: 'idle' → 'connecting' → 'connected' ⇄ 'reconnecting' → 'closed'. Every change dispatches
 * `statechange` (detail: {state, error}). A dropped connection (peer connection `failed`, or
 * `disconnected` beyond a grace period, or the event channel closing by itself) and the server's
 * `session_expired` error start a new session with a fresh client secret, backing off with jitter
 * for a bounded number of attempts; the transcript so far is replayed into it.
 *
 * Ownership: the call owns its RTCPeerConnection, data channel and timers. It sends the
 * Microphone's track but stops it only in `disconnect()`, since a reconnect reuses it.
 *
 * Other events: `remotestream` (detail: {stream}), `serverevent` (detail: the event),
 * `servererror` (detail: the error object of a non-fatal `error` event).
 */
import { fetchClientSecret } from './client-secret.js';
import { EVENT_CHANNEL_LABEL, EventChannel } from './event-channel.js';
import { exchangeSdp } from './sdp-exchange.js';
import { UserFacingError } from './user-facing-error.js';

/** @typedef {'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'} CallState */

/**
 * @typedef {object} CallOptions
 * @property {number} [disconnectGraceMs]   how long `disconnected` may last before we reconnect;
 *   ICE often recovers by itself from a brief network blip
 * @property {number} [maxReconnectAttempts]
 * @property {number} [backoffBaseMs]       first retry waits up to this, doubling each time
 * @property {number} [backoffMaxMs]
 * @property {number} [sessionTimeoutMs]    how long to wait for `session.created`
 */

const DEFAULTS = {
  disconnectGraceMs: 1500,
  maxReconnectAttempts: 5,
  backoffBaseMs: 300,
  backoffMaxMs: 5000,
  sessionTimeoutMs: 10000,
};

/** Performance marks, so the connection timeline can be measured without a global hook. */
export const MARKS = Object.freeze({
  connect: 'realtime-vend:connect',
  secretReady: 'realtime-vend:secret-ready',
  answer: 'realtime-vend:answer',
  channelOpen: 'realtime-vend:channel-open',
  sessionCreated: 'realtime-vend:session-created',
  remoteTrack: 'realtime-vend:remote-track',
});

/**
 * @typedef {object} Session  everything that belongs to one peer connection
 * @property {number} generation
 * @property {RTCPeerConnection} pc
 * @property {RTCRtpSender} sender
 * @property {EventChannel} channel
 * @property {AbortController} abort
 * @property {ReturnType<typeof setTimeout> | undefined} graceTimer
 * @property {string | null} callId
 */

export class RealtimeCall extends EventTarget {
  /** @type {CallState} */
  #state = 'idle';
  /** @type {UserFacingError | null} */
  #error = null;
  /** Bumped whenever a session is superseded; late events from older ones are ignored. */
  #generation = 0;
  /** @type {Session | null} */
  #session = null;
  /** @type {MediaStream | null} */
  #remoteStream = null;
  /** @type {Promise<void> | null} */
  #connecting = null;
  /** @type {string | undefined} */
  #preferredDeviceId;
  /** @type {(() => void) | null} cancels a pending backoff sleep */
  #cancelSleep = null;

  /**
   * @param {object} deps
   * @param {{sessionUrl: string, realtimeCallsUrl: string}} deps.config
   * @param {import('./microphone.js').Microphone} deps.microphone
   * @param {import('./conversation.js').Conversation} deps.conversation
   * @param {CallOptions} [deps.options]
   */
  constructor({ config, microphone, conversation, options = {} }) {
    super();
    this.config = config;
    this.microphone = microphone;
    this.conversation = conversation;
    this.options = { ...DEFAULTS, ...options };
  }

  /** @returns {CallState} */
  get state() {
    return this.#state;
  }

  /** @returns {UserFacingError | null} why the call last failed, if it did */
  get error() {
    return this.#error;
  }

  /** @returns {RTCPeerConnection | null} the current peer connection (for stats) */
  get peerConnection() {
    return this.#session?.pc ?? null;
  }

  /** @returns {string | null} the Realtime call id from the `Location` header, if readable */
  get callId() {
    return this.#session?.callId ?? null;
  }

  /** @returns {MediaStream | null} the assistant's audio */
  get remoteStream() {
    return this.#remoteStream;
  }

  /**
   * Starts a call. Idempotent: while connecting or connected it returns the same promise.
   * Resolves when the session is ready or the attempt has failed (see `error`); never rejects.
   * @returns {Promise<void>}
   */
  connect() {
    if (this.#connecting) return this.#connecting;
    if (this.#state === 'connected' || this.#state === 'reconnecting') return Promise.resolve();
    // After a connection that could not be restored, "Connect" continues the same conversation.
    const resume = this.#error?.code === 'reconnect_failed';
    this.#error = null;
    if (!resume) this.conversation.clear();
    for (const name of Object.values(MARKS)) performance.clearMarks(name);
    performance.mark(MARKS.connect);
    this.#setState('connecting');
    const connecting = this.#establish({ retry: false, replay: resume }).finally(() => {
      if (this.#connecting === connecting) this.#connecting = null;
    });
    this.#connecting = connecting;
    return connecting;
  }

  /** Ends the call: closes the peer connection, channel and timers, and stops the microphone. */
  disconnect() {
    if (this.#state === 'idle' || this.#state === 'closed') return;
    this.#generation += 1;
    this.#connecting = null;
    this.#cancelSleep?.();
    this.#teardownSession();
    this.microphone.stop();
    this.#setRemoteStream(null);
    this.#setState('closed');
  }

  /**
   * Sends a typed message and asks for a reply.
   * @param {string} text
   * @returns {boolean} false if the call is not connected
   */
  sendText(text) {
    const channel = this.#session?.channel;
    if (this.#state !== 'connected' || !channel?.isOpen) return false;
    this.conversation.addUserText(text);
    channel.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
    });
    channel.send({ type: 'response.create' });
    return true;
  }

  /**
   * Mutes or unmutes the microphone; the peer connection keeps running.
   * @param {boolean} muted
   */
  setMuted(muted) {
    this.microphone.setMuted(muted);
  }

  /**
   * Chooses the input device. Mid-call the new track replaces the old one on the same sender,
   * so there is no renegotiation and the session carries on.
   * @param {string} deviceId
   * @returns {Promise<void>}
   */
  async switchMicrophone(deviceId) {
    this.#preferredDeviceId = deviceId;
    if (!this.microphone.track) return;
    const track = await this.microphone.switchDevice(deviceId);
    await this.#session?.sender.replaceTrack(track);
  }

  /**
   * Reads the inbound audio statistics of the current connection.
   * @returns {Promise<{packetsReceived: number, totalAudioEnergy: number, audioLevel: number} | null>}
   */
  async inboundAudioStats() {
    const pc = this.peerConnection;
    if (!pc) return null;
    const report = await pc.getStats();
    for (const stats of report.values()) {
      if (stats.type === 'inbound-rtp' && stats.kind === 'audio') {
        return {
          packetsReceived: stats.packetsReceived ?? 0,
          totalAudioEnergy: stats.totalAudioEnergy ?? 0,
          audioLevel: stats.audioLevel ?? 0,
        };
      }
    }
    return null;
  }

  /**
   * Opens sessions until one works or we give up.
   * @param {{retry: boolean, replay: boolean}} how  retry: back off and try again on retryable
   *   failures (reconnects); replay: give the new session the conversation so far
   */
  async #establish({ retry, replay }) {
    for (let attempt = 0; ; attempt += 1) {
      const generation = ++this.#generation;
      try {
        await this.#openSession(generation, replay);
        return;
      } catch (error) {
        if (generation !== this.#generation) return; // disconnect() superseded and cleaned up
        this.#teardownSession();
        const failure = asUserFacing(error);
        const mayRetry = retry && failure.retryable && attempt < this.options.maxReconnectAttempts;
        if (!mayRetry) {
          this.#fail(
            retry && failure.retryable
              ? new UserFacingError('The connection was lost and could not be restored. Connect again to continue.', {
                  code: 'reconnect_failed',
                  cause: failure,
                })
              : failure,
          );
          return;
        }
        await this.#sleep(this.#backoffDelay(attempt, failure));
        if (generation !== this.#generation) return;
      }
    }
  }

  /**
   * Sets up one peer connection. The client secret, the microphone and the offer are prepared in
   * parallel; the offer is posted as soon as all three are ready, without waiting for ICE
   * gathering: the answer carries the server's candidates, and the server learns ours from our
   * connectivity checks (waiting for gathering costs ~100 ms and buys nothing here).
   * @param {number} generation
   * @param {boolean} replay  send the conversation so far into the new session
   */
  async #openSession(generation, replay) {
    const abort = new AbortController();
    // Started before any await, so they overlap: the token round trip (the longest, so it goes
    // first), the device prompt and the offer creation.
    const secretPromise = fetchClientSecret(this.config.sessionUrl, { signal: abort.signal }).then((secret) => {
      performance.mark(MARKS.secretReady);
      return secret;
    });
    const trackPromise = this.microphone.open(this.#preferredDeviceId);
    const pc = new RTCPeerConnection();
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    const channel = new EventChannel(pc.createDataChannel(EVENT_CHANNEL_LABEL));
    /** @type {Session} */
    const session = { generation, pc, sender: transceiver.sender, channel, abort, graceTimer: undefined, callId: null };
    this.#session = session;
    const ready = this.#watchSession(session);
    // Awaited after the SDP exchange; if an earlier step fails, that step's error is the one to report.
    ready.catch(() => {});
    const offerPromise = pc.createOffer().then((offer) => pc.setLocalDescription(offer));
    const [secret, track] = await Promise.all([secretPromise, trackPromise, offerPromise]);
    this.#assertCurrent(generation);
    await transceiver.sender.replaceTrack(track);

    const answer = await exchangeSdp(
      this.config.realtimeCallsUrl,
      secret.value,
      /** @type {RTCSessionDescription} */ (pc.localDescription).sdp,
      { signal: abort.signal },
    );
    this.#assertCurrent(generation);
    performance.mark(MARKS.answer);
    session.callId = answer.callId;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    await ready;
    this.#assertCurrent(generation);

    if (replay) {
      for (const event of this.conversation.replayEvents()) channel.send(event);
    }
    this.#setState('connected');
  }

  /**
   * Wires one session's listeners. Resolves on `session.created`; rejects if the connection
   * fails first or the server stays silent.
   * @param {Session} session
   * @returns {Promise<void>}
   */
  #watchSession(session) {
    const { pc, channel, generation } = session;
    const isCurrent = () => generation === this.#generation;
    let settled = false;
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        fail(new UserFacingError('The voice service did not answer in time. Try again in a moment.', {
          code: 'session_timeout',
          retryable: true,
        }));
      }, this.options.sessionTimeoutMs);
      session.abort.signal.addEventListener('abort', () => {
        clearTimeout(timeout);
        fail(new UserFacingError('The call was stopped.', { code: 'aborted' }));
      });
      /** @param {UserFacingError} error */
      const fail = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        reject(error);
      };
      const lost = (/** @type {string} */ reason) => {
        if (!isCurrent()) return;
        if (!settled) {
          fail(new UserFacingError('The connection to the voice service failed. Check your network, then try again.', {
            code: reason,
            retryable: true,
          }));
        } else {
          this.#reconnect();
        }
      };

      pc.addEventListener('track', (event) => {
        if (!isCurrent()) return;
        performance.mark(MARKS.remoteTrack);
        this.#setRemoteStream(event.streams[0] ?? new MediaStream([event.track]));
      });
      pc.addEventListener('connectionstatechange', () => {
        if (!isCurrent()) return;
        clearTimeout(session.graceTimer);
        session.graceTimer = undefined;
        if (pc.connectionState === 'failed') lost('connection_failed');
        if (pc.connectionState === 'disconnected') {
          // ICE may recover from a short outage on its own; only a lasting one needs a new session.
          session.graceTimer = setTimeout(() => lost('connection_lost'), this.options.disconnectGraceMs);
        }
      });
      channel.addEventListener('serverevent', (/** @type {CustomEvent} */ message) => {
        if (!isCurrent()) return;
        const event = message.detail;
        if (event.type === 'session.created' && !settled) {
          settled = true;
          clearTimeout(timeout);
          resolve();
        } else if (event.type === 'error') {
          if (event.error?.code === 'session_expired') {
            this.#reconnect();
            return;
          }
          this.dispatchEvent(new CustomEvent('servererror', { detail: event.error ?? {} }));
        }
        this.conversation.applyServerEvent(event);
        this.dispatchEvent(new CustomEvent('serverevent', { detail: event }));
      });
      channel.addEventListener('open', () => performance.mark(MARKS.channelOpen), { once: true });
      // Our own teardown closes the channel too; only a close we did not ask for is a drop.
      channel.addEventListener('close', () => lost('channel_closed'));
    });
  }

  /** Starts a new session after a drop or expiry, keeping the microphone and transcript. */
  #reconnect() {
    if (this.#state !== 'connected') return;
    this.#teardownSession();
    this.#setState('reconnecting');
    const connecting = this.#establish({ retry: true, replay: true }).finally(() => {
      if (this.#connecting === connecting) this.#connecting = null;
    });
    this.#connecting = connecting;
  }

  /** Closes the current session's peer connection, channel and timers (not the microphone). */
  #teardownSession() {
    const session = this.#session;
    if (!session) return;
    this.#session = null;
    session.abort.abort();
    clearTimeout(session.graceTimer);
    session.channel.close();
    session.pc.close();
  }

  /** @param {UserFacingError} error */
  #fail(error) {
    this.#error = error;
    this.microphone.stop();
    this.#setRemoteStream(null);
    this.#setState('closed');
  }

  /** @param {number} generation */
  #assertCurrent(generation) {
    if (generation !== this.#generation) throw new DOMException('Superseded', 'AbortError');
  }

  /**
   * Full jitter: a random wait up to an exponentially growing cap, so many clients dropped at
   * once do not come back in lockstep. A server's Retry-After is a floor.
   * @param {number} attempt
   * @param {UserFacingError} failure
   */
  #backoffDelay(attempt, failure) {
    const cap = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** attempt);
    const jittered = Math.random() * cap;
    return Math.max(jittered, (failure.retryAfterSeconds ?? 0) * 1000);
  }

  /** @param {number} ms */
  #sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve(undefined);
      }
      this.#cancelSleep = done;
    }).finally(() => {
      this.#cancelSleep = null;
    });
  }

  /** @param {MediaStream | null} stream */
  #setRemoteStream(stream) {
    if (stream === this.#remoteStream) return;
    this.#remoteStream = stream;
    this.dispatchEvent(new CustomEvent('remotestream', { detail: { stream } }));
  }

  /** @param {CallState} state */
  #setState(state) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('statechange', { detail: { state, error: this.#error } }));
  }
}

/**
 * @param {unknown} error
 * @returns {UserFacingError}
 */
function asUserFacing(error) {
  if (error instanceof UserFacingError) return error;
  return new UserFacingError('The call could not be set up in this browser. Reload the page and try again.', {
    code: 'setup_failed',
    cause: error,
  });
}
