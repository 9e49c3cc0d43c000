/**
 * One voice call over WebRTC, to the Realtime API or to GPT-Live: the call's state machine.
 *
 * States and the only moves between them (TRANSITIONS): 'idle' → 'connecting' → 'connected' ⇄
 * 'reconnecting' → 'closed' → 'connecting' …; every change dispatches `statechange` (detail:
 * {state, error}). A call runs one PeerSession at a time. When an open session is lost (dropped
 * connection, closed channel, or the server's `session_expired`), the call mints a new client
 * secret and replays the transcript into a new session, within a budget (at most 3 new secrets per
 * 5 minutes). After a session that had been stable (`stableSessionMs`), the first attempt goes at
 * once: a dropped call comes back as soon as it can. Every other attempt waits a jittered delay of at
 * least a second, and a session lost soon after it started counts as a failed attempt, so the delays
 * grow. Out of budget, the call closes and says why.
 *
 * Relay mode (config.negotiation 'relay'): each session is a call our API opened and will hang up at
 * its cap. The call ends it with `DELETE <Location>` when it ends (hang-up, a failure, a closing tab),
 * so the visitor's slot is freed and the unused minutes refunded; a session lost mid-call is instead
 * named in the next call's request (`Replaces-Call`), which ends it on the way. A session lost at its
 * cap rolls over into a new call with the conversation replayed, at once and outside the reconnect
 * budget (the server's minutes bound it); if the server refuses the new call, the call closes with the
 * server's sentence. Reconnects use the same mode as the first session.
 *
 * A session that carried the assistant's `end_call` tool call and then ended was hung up by the
 * server after the goodbye: the call closes (reason 'assistant') without reconnecting. The page only
 * watches for that call; the server's companion runs it (the page never answers a tool).
 *
 * What differs between the voice APIs (which events say what) is the call's `protocol`: the Realtime
 * API's (realtime-protocol.js) unless the page sets GPT-Live's (live/live-protocol.js) before connecting.
 * A protocol that can ask the server why a session ended (`lostReason`) is asked before the call decides
 * between a rollover, a reconnect and an end.
 *
 * Ownership: the call owns its sessions and timers; everything one call sets up hangs off one
 * AbortController, aborted when the call closes. It sends the Microphone's track but stops it only
 * when the call closes, since a reconnect reuses it.
 *
 * Other events: `remotestream` (detail: {stream}), `serverevent` (detail: the event),
 * `servererror` (detail: the error object of a non-fatal `error` event), `notice` (detail:
 * {message}) for something the user should know that does not change the state, `deadline`
 * (detail: {deadline}: when the server will end the current call, epoch ms, or null).
 * `statechange` to 'reconnecting' carries `reason`: 'rollover' at the cap, else 'dropped'; to
 * 'closed' it carries 'assistant' when the assistant ended the call.
 */
import { ReconnectBudget, retryDelayMs, sleep } from './backoff.js';
import { clientSecretNegotiator } from './client-secret-negotiator.js';
import { MARKS } from './marks.js';
import { PeerSession } from './peer-session.js';
import { realtimeProtocol } from './realtime-protocol.js';
import { hangUpCall, relayNegotiator } from './relay-negotiator.js';
import { UserFacingError } from '../user-facing-error.js';

/** @typedef {'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'} CallState */

/** @type {Readonly<Record<CallState, readonly CallState[]>>} */
const TRANSITIONS = Object.freeze({
  idle: ['connecting'],
  connecting: ['connected', 'closed'],
  connected: ['reconnecting', 'closed'],
  reconnecting: ['connected', 'closed'],
  closed: ['connecting'],
});

/**
 * @typedef {object} CallOptions
 * @property {number} [disconnectGraceMs]  how long `disconnected` may last before we reconnect
 * @property {number} [sessionTimeoutMs]   how long to wait for `session.created`
 * @property {number} [reconnectLimit]     new sessions a call may open per window, after the first
 * @property {number} [reconnectWindowMs]
 * @property {number} [retryBaseMs]        the shortest wait before a reconnect (jittered up by half)
 * @property {number} [retryMaxMs]
 * @property {number} [stableSessionMs]    a session lost sooner than this counts as a failed attempt; one
 *   lost later is replaced at once
 */

/**
 * @typedef {object} CallProtocol  one voice API's events, for one call
 * @property {string | null} readyEvent  the server event that says a new session is ready; null: the
 *   data channel's `open`
 * @property {(text: string) => Array<{type: string} & Record<string, unknown>>} textEvents  what sends typed
 *   text (none: typing is off)
 * @property {(session: PeerSession, conversation: import('../conversation.js').Conversation, replay: boolean) => void} opened
 *   a session is ready; `replay`: it continues the conversation on screen
 * @property {(event: {type: string} & Record<string, any>, session: PeerSession | null) => boolean} [handled]
 *   deals with a server event the visitor need not hear of (true: an error the protocol recovers from)
 * @property {(event: {type: string} & Record<string, any>, conversation: import('../conversation.js').Conversation) => boolean} read
 *   reads one server event into the conversation; true if it is the assistant's `end_call`
 * @property {(session: PeerSession | null, hangUp: () => Promise<boolean>) => void} end  ends the call's
 *   session, then the relayed call (`hangUp`)
 * @property {(conversation: import('../conversation.js').Conversation) => Array<{role: string, text: string}>} [carried]
 *   what a new relayed call carries of the conversation, in its request, when it continues one
 * @property {(session: PeerSession | null, muted: boolean) => void} [muted]  tells the session about a mute
 * @property {(call: import('./relay-negotiator.js').RelayedCall, error: UserFacingError) => Promise<string | null>} [lostReason]
 *   why the server says a relayed call ended (`error`: how the page lost its session): 'cap' or 'expired' roll over, 'assistant' and 'content' end the call,
 *   anything else is a dropped connection
 */

/** After a call ended with these, "Connect" continues the same conversation. */
const RESUMABLE_CODES = new Set(['reconnect_failed', 'sign_in_required']);

/**
 * A session lost this close before its call's cap, or any time after it, was hung up at the cap. The
 * server's companion hangs up within 1 s of `Call-Ends-At` (the Scheduler backstop up to a minute
 * after), and the page's deadline can run up to a second late on the server's: `Date` has whole
 * seconds. The page notices a hang-up at once when the data channel closes, or after its dead-path and
 * grace delays (a few seconds), always after the hang-up: hence no bound after the cap.
 */
const CAP_SLACK_MS = 3000;

const DEFAULTS = {
  disconnectGraceMs: 1500,
  sessionTimeoutMs: 10000,
  reconnectLimit: 3,
  reconnectWindowMs: 5 * 60 * 1000,
  retryBaseMs: 1000,
  retryMaxMs: 30000,
  stableSessionMs: 20000,
};

export class RealtimeCall extends EventTarget {
  /** @type {CallState} */
  #state = 'idle';
  /** @type {UserFacingError | null} */
  #error = null;
  /** @type {PeerSession | null} */
  #session = null;
  /** One per call, from connect() until it closes: aborting it undoes whatever the call still runs. */
  #lifetime = new AbortController();
  /** @type {ReconnectBudget} new for each connect() */
  #budget;
  /** Failed attempts in a row, a short-lived session included; the retry delay grows with it. */
  #failures = 0;
  #connectedAt = 0;
  /** @type {Promise<void> | null} */
  #starting = null;
  /** @type {MediaStream | null} */
  #remoteStream = null;
  /** @type {string | undefined} */
  #preferredDeviceId;
  /** The negotiator of the session being opened or open: in relay mode it names the call. */
  /** @type {{call?: import('./relay-negotiator.js').RelayedCall | null} | null} */
  #negotiator = null;
  /** The lost relayed call the next call replaces (the server ends it then), until one is accepted. */
  /** @type {{call?: import('./relay-negotiator.js').RelayedCall | null} | null} */
  #replacing = null;
  /** Relayed calls already ended with a DELETE (or being ended), so each gets one. */
  /** @type {WeakMap<import('./relay-negotiator.js').RelayedCall, Promise<boolean>>} */
  #hangups = new WeakMap();
  /** The current session carried an `end_call` function call: its end is the assistant's hang-up. */
  #endCallSeen = false;

  /**
   * @param {object} deps
   * @param {{negotiation?: string, sessionUrl: string, realtimeCallsUrl: string, callUrl?: string, credentials?: import('../auth/credentials.js').ApiCredentials}} deps.config
   * @param {import('../microphone.js').Microphone} deps.microphone
   * @param {import('../conversation.js').Conversation} deps.conversation
   * @param {{take: () => import('./prepare.js').PreparedPeer | null} | null} [deps.preparation]  hands over
   *   the peer connection prepared before the click, if there is one
   * @param {CallOptions} [deps.options]
   */
  constructor({ config, microphone, conversation, preparation = null, options = {} }) {
    super();
    /** @type {CallProtocol} */
    this.protocol = realtimeProtocol;
    this.config = config;
    this.microphone = microphone;
    this.conversation = conversation;
    this.preparation = preparation;
    this.options = { ...DEFAULTS, ...options };
  }

  /** @returns {CallState} */
  get state() {
    return this.#state;
  }

  /** @returns {UserFacingError | null} why the call last ended, if it failed */
  get error() {
    return this.#error;
  }

  /** @returns {number | null} when the server will end the current relayed call (epoch ms) */
  get deadline() {
    return this.#negotiator?.call?.deadline ?? null;
  }

  /** @returns {RTCPeerConnection | null} the current peer connection (for stats) */
  get peerConnection() {
    return this.#session?.peerConnection ?? null;
  }

  /**
   * Starts a call. Idempotent: while connecting it returns the same promise, while live a resolved one.
   * Resolves when the first session is ready or the attempt has failed (see `error`); never rejects.
   * @param {{resume?: boolean}} [options]  `resume`: continue the conversation on screen (replayed into
   *   the new session) instead of starting a new one; by default only after a connection that could not
   *   be restored or a sign-in that expired
   * @returns {Promise<void>}
   */
  connect({ resume = RESUMABLE_CODES.has(this.#error?.code ?? '') } = {}) {
    if (this.#starting) return this.#starting;
    if (this.#state !== 'idle' && this.#state !== 'closed') return Promise.resolve();
    this.#error = null;
    if (!resume) this.conversation.clear();
    for (const name of Object.values(MARKS)) performance.clearMarks(name);
    performance.mark(MARKS.connect);
    const lifetime = new AbortController();
    this.#lifetime = lifetime;
    this.#budget = new ReconnectBudget({
      limit: this.options.reconnectLimit,
      windowMs: this.options.reconnectWindowMs,
    });
    this.#failures = 0;
    this.microphone.addEventListener('ended', () => void this.#replaceLostMicrophone(lifetime.signal), {
      signal: lifetime.signal,
    });
    this.#setState('connecting');
    const starting = this.#start(resume, lifetime.signal).finally(() => {
      if (this.#starting === starting) this.#starting = null;
    });
    this.#starting = starting;
    return starting;
  }

  /** Ends the call: closes the session and timers, and stops the microphone. */
  disconnect() {
    this.#end(null);
  }

  /**
   * Sends a typed message and asks for a reply.
   * @param {string} text
   * @returns {boolean} false if the call is not connected
   */
  sendText(text) {
    const session = this.#session;
    const events = this.protocol.textEvents(text);
    if (this.#state !== 'connected' || !session?.isOpen || !events.length) return false;
    this.conversation.addUserText(text);
    for (const event of events) session.send(event);
    return true;
  }

  /**
   * Mutes or unmutes the microphone; the peer connection keeps running.
   * @param {boolean} muted
   */
  setMuted(muted) {
    this.microphone.setMuted(muted);
    this.protocol.muted?.(this.#session, muted);
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
    await this.#session?.replaceTrack(track);
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
   * The first session of a call: no retry, the user sees why it failed and can press Connect.
   * @param {boolean} replay
   * @param {AbortSignal} signal  the call's lifetime
   */
  async #start(replay, signal) {
    try {
      await this.#openSession(replay, signal);
    } catch (error) {
      if (!signal.aborted) this.#end(asUserFacing(error));
    }
  }

  /**
   * Opens one session and makes it the current one; `connected` when it is ready.
   * @param {boolean} replay  send the conversation so far into the new session
   * @param {AbortSignal} signal  the call's lifetime
   */
  async #openSession(replay, signal) {
    signal.throwIfAborted();
    const negotiator =
      this.config.negotiation === 'relay'
        ? relayNegotiator({
            callUrl: String(this.config.callUrl),
            replaces: this.#replacing?.call?.url,
            credentials: this.config.credentials,
            conversation: replay ? this.protocol.carried?.(this.conversation) : undefined,
          })
        : clientSecretNegotiator(this.config);
    this.#negotiator = negotiator;
    const session = new PeerSession({
      negotiator,
      readyEvent: this.protocol.readyEvent,
      microphone: this.microphone,
      deviceId: this.#preferredDeviceId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      disconnectGraceMs: this.options.disconnectGraceMs,
      prepared: this.preparation?.take() ?? null,
    });
    this.#session = session;
    this.#endCallSeen = false;
    const on = { signal: session.signal };
    session.addEventListener('remotetrack', (event) => this.#setRemoteStream(detailOf(event).stream), on);
    session.addEventListener('serverevent', (event) => this.#onServerEvent(detailOf(event)), on);
    session.addEventListener('lost', (event) => this.#onLost(session, detailOf(event).error), on);
    try {
      await session.open();
      signal.throwIfAborted();
    } catch (error) {
      session.close();
      if (this.#session === session) this.#session = null;
      if (negotiator.call) {
        // The server accepted the offer (so it ended the call this one replaced): this call is now
        // the one to end, by the next attempt, or by a DELETE if there is none.
        this.#replacing = negotiator;
        if (signal.aborted) this.#hangUpReplaced();
      }
      throw error;
    }
    if (negotiator.call) this.#replacing = null;
    this.protocol.opened(session, this.conversation, replay);
    this.#connectedAt = performance.now();
    this.#setState('connected');
    this.#announceDeadline();
  }

  /**
   * Ends the relayed call a negotiator named, once; nothing in client-secret mode.
   * @param {{call?: import('./relay-negotiator.js').RelayedCall | null} | null} negotiator
   * @returns {Promise<boolean>} whether the server confirmed the call is over
   */
  #hangUp(negotiator) {
    const call = negotiator?.call;
    if (!call) return Promise.resolve(true);
    let hangup = this.#hangups.get(call);
    if (!hangup) {
      hangup = hangUpCall(call.url, this.config.credentials?.headersNow());
      this.#hangups.set(call, hangup);
    }
    return hangup;
  }

  #hangUpReplaced() {
    void this.#hangUp(this.#replacing);
    this.#replacing = null;
  }

  #announceDeadline() {
    this.dispatchEvent(new CustomEvent('deadline', { detail: { deadline: this.deadline } }));
  }

  /** @param {{type: string} & Record<string, any>} event */
  #onServerEvent(event) {
    const handled = this.protocol.handled?.(event, this.#session);
    if (event.type === 'error' && !handled) this.dispatchEvent(new CustomEvent('servererror', { detail: event.error ?? {} }));
    this.#endCallSeen ||= this.protocol.read(event, this.conversation);
    this.dispatchEvent(new CustomEvent('serverevent', { detail: event }));
  }

  /**
   * An open session ended by itself: start another, keeping the microphone and transcript.
   * @param {PeerSession} session
   * @param {UserFacingError} error
   */
  #onLost(session, error) {
    if (session !== this.#session || this.#state !== 'connected') return;
    if (this.#endCallSeen) {
      // The assistant said goodbye and the server hung up: over, not lost (its DELETE finds it ended).
      this.#end(null, 'assistant');
      return;
    }
    session.close();
    this.#session = null;
    const lost = this.#negotiator;
    const asking = lost?.call && this.protocol.lostReason?.(lost.call, error);
    if (asking) {
      // Connected still, with no session, until the server says why: a hang-up meanwhile ends it all.
      void asking.then((why) => {
        if (this.#session || this.#state !== 'connected') return;
        if (why === 'assistant') this.#end(null, 'assistant');
        else if (why === 'content') this.#end(new UserFacingError("OpenAI's safety system ended the call.", { code: 'content' }));
        else this.#replace(lost, error, why === 'cap' || why === 'expired' || undefined);
      });
      return;
    }
    this.#replace(lost, error);
  }

  /**
   * Replaces a lost session: at once at the cap (a rollover), else as a reconnect.
   * @param {{call?: import('./relay-negotiator.js').RelayedCall | null} | null} lost  its negotiator
   * @param {UserFacingError} error
   * @param {boolean} [atCap]  the server said it ended at the cap; by default, judged by the deadline
   */
  #replace(lost, error, atCap) {
    const deadline = lost?.call?.deadline;
    const rollover = atCap ?? (deadline !== undefined && Date.now() >= deadline - CAP_SLACK_MS);
    // Not ended here: the next call's request names it, and the server ends it on the way.
    if (lost?.call) this.#replacing = lost;
    this.#negotiator = null;
    this.#announceDeadline();
    // A session that died soon after it started is a failed attempt, not a fresh start.
    const shortLived = performance.now() - this.#connectedAt < this.options.stableSessionMs;
    this.#failures = shortLived && !rollover ? this.#failures + 1 : 0;
    this.#setState('reconnecting', rollover ? 'rollover' : 'dropped');
    void this.#reconnect(error, this.#lifetime.signal, rollover, !shortLived);
  }

  /**
   * Re-mints and opens sessions until one works, the budget is spent, or a failure is final.
   * @param {UserFacingError} cause  why the last session ended
   * @param {AbortSignal} signal  the call's lifetime
   * @param {boolean} rollover  lost at its cap: the first attempt is at once and not budgeted
   * @param {boolean} stable  the lost session had been stable: the first attempt is at once, budgeted
   */
  async #reconnect(cause, signal, rollover, stable) {
    let immediate = stable && !rollover;
    /** @type {number | undefined} */
    let retryAfterSeconds;
    if (rollover) {
      try {
        await this.#openSession(true, signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const failure = asUserFacing(error);
        if (!failure.retryable) {
          this.#end(capReached(failure));
          return;
        }
        cause = failure;
        retryAfterSeconds = failure.retryAfterSeconds;
        this.#failures += 1;
      }
    }
    for (;;) {
      if (!this.#budget.take()) {
        const minutes = Math.round(this.options.reconnectWindowMs / 60000);
        this.#end(
          new UserFacingError(
            `The connection kept dropping (${this.options.reconnectLimit} reconnects in ${minutes} minutes), so the call was ended. Connect again to continue.`,
            { code: 'reconnect_failed', cause },
          ),
        );
        return;
      }
      const delay = immediate
        ? 0
        : retryDelayMs(this.#failures, {
            retryAfterSeconds,
            baseMs: this.options.retryBaseMs,
            maxMs: this.options.retryMaxMs,
          });
      immediate = false;
      try {
        await sleep(delay, signal);
        await this.#openSession(true, signal);
        return;
      } catch (error) {
        if (signal.aborted) return;
        const failure = asUserFacing(error);
        if (!failure.retryable) {
          this.#end(failure);
          return;
        }
        cause = failure;
        retryAfterSeconds = failure.retryAfterSeconds;
        this.#failures += 1;
      }
    }
  }

  /**
   * The microphone went away mid-call: carry on with another one, or end the call saying why.
   * @param {AbortSignal} signal  the call's lifetime
   */
  async #replaceLostMicrophone(signal) {
    try {
      const { track, label } = await this.microphone.replaceLostTrack();
      signal.throwIfAborted();
      this.#preferredDeviceId = this.microphone.deviceId;
      await this.#session?.replaceTrack(track);
      const which = label ? `“${label}”` : 'another microphone';
      this.#notify(`The microphone was disconnected. The call continues with ${which}.`);
    } catch (error) {
      if (!signal.aborted) this.#end(asUserFacing(error));
    }
  }

  /**
   * Closes the call (once): the session, every timer and listener of this call, the microphone.
   * @param {UserFacingError | null} error  why, or null when the user or the assistant hung up
   * @param {'assistant'} [reason]  the assistant hung up
   */
  #end(error, reason) {
    if (this.#state === 'idle' || this.#state === 'closed') return;
    this.#error = error;
    this.#lifetime.abort();
    const negotiator = this.#negotiator;
    this.protocol.end(this.#session, () => this.#hangUp(negotiator));
    this.#session = null;
    this.#negotiator = null;
    this.#hangUpReplaced();
    this.#announceDeadline();
    this.microphone.stop();
    this.#setRemoteStream(null);
    this.#setState('closed', reason);
  }

  /** @param {string} message */
  #notify(message) {
    this.dispatchEvent(new CustomEvent('notice', { detail: { message } }));
  }

  /** @param {MediaStream | null} stream */
  #setRemoteStream(stream) {
    if (stream === this.#remoteStream) return;
    this.#remoteStream = stream;
    this.dispatchEvent(new CustomEvent('remotestream', { detail: { stream } }));
  }

  /**
   * @param {CallState} state
   * @param {'rollover' | 'dropped' | 'assistant'} [reason]  why 'reconnecting', or 'closed' by the assistant
   */
  #setState(state, reason) {
    if (!TRANSITIONS[this.#state].includes(state)) {
      throw new Error(`RealtimeCall: no transition from ${this.#state} to ${state}`);
    }
    this.#state = state;
    this.dispatchEvent(new CustomEvent('statechange', { detail: { state, error: this.#error, reason } }));
  }
}

/**
 * @param {Event} event
 * @returns {any}
 */
function detailOf(event) {
  return /** @type {CustomEvent} */ (event).detail;
}

/**
 * Why a call that reached its cap could not go on: the server's refusal, said as the end of the call.
 * The code and the moment stay the server's, so the page says when the visitor's budget resets.
 * @param {UserFacingError} refusal
 * @returns {UserFacingError}
 */
function capReached(refusal) {
  return new UserFacingError(`The call reached its time limit. ${refusal.message}`, {
    code: refusal.code,
    retryAfterSeconds: refusal.retryAfterSeconds,
    retryAt: refusal.retryAt,
    cause: refusal,
  });
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
