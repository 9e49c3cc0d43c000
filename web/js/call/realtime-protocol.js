/**
 * The Realtime API's vocabulary on the `oai-events` channel, for the call's state machine
 * (realtime-call.js): a session is ready on `session.created`, typed text is a conversation item and
 * a response, a new session is told the conversation so far by replaying it, and the transcript is
 * built from the server's events (conversation.js). GPT-Live's is beside it (live/live-protocol.js).
 */

// OpenAI refuses a `response.create` while a response is active (the answer to a spoken turn, say).
// The typed message is in the conversation by then, so the page asks again once that one is done.
const BUSY = 'conversation_already_has_active_response';
/** Sessions whose typed message waits for the active response to finish. */
const waiting = new WeakSet();

/** @type {import('./realtime-call.js').CallProtocol} */
export const realtimeProtocol = {
  readyEvent: 'session.created',
  textEvents: (text) => [
    { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } },
    { type: 'response.create' },
  ],
  opened(session, conversation, replay) {
    if (replay) for (const event of conversation.replayEvents()) session.send(event);
  },
  handled(event, session) {
    if (!session) return false;
    if (event.error?.code === BUSY) return !!waiting.add(session);
    if (event.type === 'response.done' && waiting.delete(session)) session.send({ type: 'response.create' });
    return false;
  },
  read(event, conversation) {
    conversation.applyServerEvent(event);
    // The tool the assistant calls to hang up (functions/vend/tools/), which the server's companion
    // runs. Of the items the server announces, only function calls have a name.
    return event.item?.name === 'end_call';
  },
  end(session, hangUp) {
    session?.close();
    // Now, not after the session's own cleanup: the tab may be closing (the DELETE is keepalive).
    void hangUp();
  },
};
