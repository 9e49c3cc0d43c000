/**
 * GPT-Live's vocabulary on the `oai-events` channel, for the call's state machine
 * (call/realtime-call.js); the Realtime API's is call/realtime-protocol.js. Loaded only when
 * config.json says `"voiceApi": "live"`. GPT-Live calls are always relayed: our server creates the
 * session and sets what this channel may carry (`client.data_channel`).
 *
 * - Ready: the data channel's `open`. The page is never sent `session.started` (it carries the
 *   backend's prompt and tools), nor `session.closed`.
 * - Transcripts: timed deltas of both speakers, grouped into turns (transcript-grouper.js), each turn
 *   one conversation entry.
 * - Typed text (when the server allows it): a user message for the delegated backend, then
 *   `response.create`. Off, `textEvents` sends nothing and the call refuses the text.
 * - Tool activity: the backend's `response.output_item.done` function-call items, one line each.
 * - Mute: `session.input_audio.mute` / `.unmute` (the call still disables the track).
 * - Standby: `session.paused` / `session.resumed` are dispatched as `standby` (detail: {paused}).
 * - An `info` event (GPT-Live's answer to a client event this page may not send) goes to the console.
 * - A lost session: our API says why it ended (`GET /api/call/{id}`), dispatched as `sessionend`
 *   (detail: {reason}); the call rolls over, reconnects or ends on it.
 * - A new session continues the conversation from the turns carried in its request (GPT-Live takes
 *   history only at start, so nothing is replayed over the channel).
 * - Hanging up: `session.close`, then up to HANG_UP_WAIT_MS for the channel to close before the peer
 *   connection is closed and the call DELETEd; a closing tab does not wait (its DELETE must leave now).
 */
import { TranscriptGrouper } from './transcript-grouper.js';

/** How long a hang-up waits for GPT-Live to close the channel after `session.close`. */
export const HANG_UP_WAIT_MS = 2000;
/**
 * How long the page keeps asking why a session ended while our API still has it live, when GPT-Live
 * closed the channel: the server's companion records the reason when GPT-Live tells it, about when the
 * channel closes here (later on a loaded server). A path that died is not waited for: GPT-Live
 * notices it only after its own timeouts, and the page reconnects at once.
 */
const REASON_WAIT_MS = 5000;
const REASON_POLL_MS = 250;

/** @typedef {{type: string} & Record<string, any>} ServerEvent */

/** @typedef {import('../call/realtime-call.js').CallProtocol} CallProtocol */

/** @implements {CallProtocol} */
export class LiveProtocol extends EventTarget {
  readyEvent = null;
  #typedText;
  /** @type {() => import('../auth/credentials.js').ApiCredentials | undefined} as the page holds them now */
  #credentials;
  /** @type {TranscriptGrouper | null} the current session's */
  #grouper = null;
  #muted = false;
  /** The tab is going away: a hang-up cannot wait. */
  #leaving = false;

  /**
   * @param {object} options
   * @param {boolean} options.typedText  the server lets the page send typed text
   * @param {() => import('../auth/credentials.js').ApiCredentials | undefined} options.credentials
   */
  constructor({ typedText, credentials }) {
    super();
    this.#typedText = typedText;
    this.#credentials = credentials;
    // Capture: before the page's own pagehide listener hangs up.
    window.addEventListener('pagehide', () => (this.#leaving = true), { capture: true });
  }

  /**
   * @param {string} text
   * @returns {Array<{type: string} & Record<string, unknown>>}
   */
  textEvents(text) {
    if (!this.#typedText) return [];
    return [
      { type: 'response.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } },
      { type: 'response.create' },
    ];
  }

  /**
   * A new session: a new transcript timeline, and the microphone's mute told again.
   * @param {import('../call/peer-session.js').PeerSession} session
   * @param {import('../conversation.js').Conversation} conversation
   */
  opened(session, conversation) {
    this.#grouper?.close();
    const grouper = new TranscriptGrouper();
    grouper.addEventListener('segment', (event) => {
      const { segment, closed } = /** @type {CustomEvent<import('./transcript-grouping.js').GroupingUpdate>} */ (event)
        .detail;
      conversation.put(segment.id, segment.speaker, segment.text, closed !== undefined);
    });
    this.#grouper = grouper;
    if (this.#muted) session.send({ type: 'session.input_audio.mute' });
    this.#standby(false);
  }

  /**
   * @param {ServerEvent} event
   * @param {import('../conversation.js').Conversation} conversation
   * @returns {boolean} whether it is the assistant's `end_call`
   */
  read(event, conversation) {
    this.#grouper?.push(event);
    switch (event.type) {
      case 'response.event': {
        const item = event.event?.type === 'response.output_item.done' ? event.event.item : null;
        if (item?.type !== 'function_call') return false;
        // The backend's call of a server tool, run by our companion: the page shows its name only.
        conversation.applyServerEvent({ type: 'response.output_item.done', item });
        return item.name === 'end_call';
      }
      case 'session.paused':
      case 'session.resumed':
        this.#standby(event.type === 'session.paused');
        return false;
      case 'info':
        // GPT-Live's answer to an event this page was not allowed to send: for whoever debugs the page.
        // eslint-disable-next-line no-console -- an info event carries no secret, and nothing to show
        console.info(`GPT-Live: ${event.code}: ${event.message}`);
        return false;
      default:
        return false;
    }
  }

  /**
   * @param {import('../call/peer-session.js').PeerSession | null} session
   * @param {boolean} muted
   */
  muted(session, muted) {
    this.#muted = muted;
    session?.send({ type: muted ? 'session.input_audio.mute' : 'session.input_audio.unmute' });
  }

  /**
   * The conversation a new call continues from, oldest first (the server keeps the newest that fit).
   * @param {import('../conversation.js').Conversation} conversation
   */
  carried(conversation) {
    return conversation.turns();
  }

  /**
   * Asks our API why a relayed call ended, waiting a little while it still says `live` if GPT-Live
   * closed the channel.
   * @param {import('../call/relay-negotiator.js').RelayedCall} call
   * @param {{code?: string}} [lost]  how the page lost the session (PeerSession's error)
   * @returns {Promise<string | null>} null if it could not be learned
   */
  async lostReason(call, lost) {
    const until = performance.now() + (lost?.code === 'channel_closed' ? REASON_WAIT_MS : 0);
    let reason = null;
    for (;;) {
      reason = await fetchReason(call.url, this.#credentials());
      if (reason !== undefined || performance.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, REASON_POLL_MS));
    }
    this.dispatchEvent(new CustomEvent('sessionend', { detail: { reason: reason ?? null } }));
    return reason ?? null;
  }

  /**
   * @param {import('../call/peer-session.js').PeerSession | null} session
   * @param {() => Promise<boolean>} hangUp
   */
  end(session, hangUp) {
    this.#grouper?.close();
    this.#grouper = null;
    this.#standby(false);
    if (!session || this.#leaving || !session.send({ type: 'session.close' })) {
      session?.close();
      void hangUp();
      return;
    }
    void new Promise((closed) => {
      // A session's `lost` fires when its channel closes (or its connection fails) without close().
      session.addEventListener('lost', closed, { once: true });
      setTimeout(closed, HANG_UP_WAIT_MS);
    }).then(() => {
      session.close();
      return hangUp();
    });
  }

  /** @param {boolean} paused */
  #standby(paused) {
    this.dispatchEvent(new CustomEvent('standby', { detail: { paused } }));
  }
}

/**
 * One `GET /api/call/{id}`.
 * @param {string} url
 * @param {import('../auth/credentials.js').ApiCredentials | undefined} credentials
 * @returns {Promise<string | null | undefined>} the reason it ended; undefined while it is live; null if
 *   the answer says nothing
 */
async function fetchReason(url, credentials) {
  try {
    const response = await fetch(url, {
      headers: (await credentials?.headers()) ?? {},
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (!response.ok) return null;
    const body = await response.json();
    if (body?.status === 'live') return undefined;
    return typeof body?.reason === 'string' ? body.reason : null;
  } catch {
    return null;
  }
}
