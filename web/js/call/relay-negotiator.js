/**
 * How a peer session gets its answer in relay mode: the offer goes to our own API (`POST /api/call`),
 * which posts it to OpenAI with the real key and answers with OpenAI's SDP answer, `Location` (our
 * record of the call) and `Call-Ends-At` (when the server hangs it up). The page holds no credential
 * of any kind: the call's URL lets only the visitor who started the call end it.
 *
 * Whoever started a call ends it with `hangUpCall`: the server then frees the visitor's slot and
 * refunds the unused minutes. A DELETE that never arrives costs nothing but those minutes, since the
 * server's schedule ends every call at its cap anyway.
 */
import { ANONYMOUS } from '../auth/credentials.js';
import { errorFromApiResponse } from './client-secret.js';
import { UserFacingError } from '../user-facing-error.js';

/**
 * @typedef {object} RelayedCall
 * @property {string} url       our API's URL of the call (`/api/call/call_…`), for DELETE
 * @property {number} deadline  when the server will hang it up, in this browser's clock (epoch ms)
 */

/**
 * @typedef {import('./client-secret-negotiator.js').Negotiator & {readonly call: RelayedCall | null}} RelayNegotiator
 */

/**
 * After a successful exchange `call` names the call the server opened; from then on ending it is the
 * caller's job (the session may still fail to open). If the session is closed while the offer is on
 * its way, the negotiator ends the call itself as soon as the answer names it.
 * @param {{callUrl: string, replaces?: string | null, credentials?: import('../auth/credentials.js').ApiCredentials, conversation?: Array<{role: string, text: string}>}} config
 *   `replaces`: the URL of the visitor's call that just dropped; the server ends it in the same request
 *   (`Replaces-Call`), so the new call needs neither a DELETE round trip first nor a second free slot.
 *   `conversation`: what a GPT-Live call continues from (it is sent with the offer as JSON: GPT-Live
 *   takes a session's history only at its start)
 * @returns {RelayNegotiator} for exactly one session
 */
export function relayNegotiator(config) {
  /** @type {RelayedCall | null} */
  let call = null;
  return {
    get call() {
      return call;
    },
    // Nothing to fetch before the offer: no credential, and config.json has named the route.
    prepare: () => Promise.resolve(),
    async exchange(offerSdp, signal) {
      const credentials = config.credentials ?? ANONYMOUS;
      const body = config.conversation ? JSON.stringify({ sdp: offerSdp, conversation: config.conversation }) : offerSdp;
      const { sdp, relayed } = await postOffer(config.callUrl, body, config.replaces ?? null, credentials, signal);
      call = relayed;
      return sdp;
    },
  };
}

/**
 * @param {string} callUrl
 * @param {string} offer  the SDP, or JSON holding it
 * @param {string | null} replaces
 * @param {import('../auth/credentials.js').ApiCredentials} credentials
 * @param {AbortSignal} signal
 * @returns {Promise<{sdp: string, relayed: RelayedCall}>}
 */
async function postOffer(callUrl, offer, replaces, credentials, signal) {
  signal.throwIfAborted();
  const type = offer.startsWith('{') ? 'application/json' : 'application/sdp';
  /** @type {Record<string, string>} */
  const headers = { ...(await credentials.headers()), 'Content-Type': type };
  signal.throwIfAborted();
  if (replaces) headers['Replaces-Call'] = new URL(replaces).pathname;
  let response;
  try {
    // Deliberately not aborted with the session: once the offer has left, the server may open a call
    // and charge for it, and only its answer says which call to end.
    response = await fetch(callUrl, {
      method: 'POST',
      body: offer,
      headers,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new UserFacingError('The service could not be reached. Check your connection and try again.', {
      code: 'network_error',
      retryable: true,
      cause: error,
    });
  }
  if (response.status !== 201) {
    const error = await errorFromApiResponse(response);
    signal.throwIfAborted();
    throw error;
  }
  const sdp = await response.text().catch(() => '');
  const relayed = readCall(response, callUrl);
  if (relayed && (signal.aborted || !sdp.startsWith('v='))) void hangUpCall(relayed.url, credentials.headersNow());
  signal.throwIfAborted();
  if (!relayed || !sdp.startsWith('v=')) {
    throw new UserFacingError('The service sent an unexpected answer. Try again in a moment.', {
      code: 'invalid_call_answer',
      retryable: true,
    });
  }
  return { sdp, relayed };
}

/**
 * The call a 201 names, or null if the headers are missing or point anywhere but our own route.
 * @param {Response} response
 * @param {string} callUrl
 * @returns {RelayedCall | null}
 */
function readCall(response, callUrl) {
  const location = response.headers.get('Location');
  const endsAt = Number(response.headers.get('Call-Ends-At'));
  if (!location || !Number.isFinite(endsAt) || endsAt <= 0) return null;
  const base = new URL(callUrl);
  const url = new URL(location, base);
  if (url.origin !== base.origin || !url.pathname.startsWith(`${base.pathname.replace(/\/$/, '')}/`)) return null;
  // The server's clock decides the end; this browser's may be minutes off. What counts is how long
  // the call has left as of the answer, which the answer's Date header tells (to the second).
  const serverNow = Date.parse(response.headers.get('Date') ?? '');
  const deadline = Number.isNaN(serverNow) ? endsAt * 1000 : Date.now() + (endsAt * 1000 - serverNow);
  return { url: url.href, deadline };
}

/**
 * Ends a relayed call at our API (`DELETE <Location>`), even from a closing tab (keepalive). Never
 * rejects: a DELETE that fails is harmless, since the server's schedule ends the call at its cap.
 * @param {string} url
 * @param {Record<string, string>} [headers]  the signed-in visitor's Authorization, as it stands
 * @returns {Promise<boolean>} whether the server confirmed the call is over
 */
export async function hangUpCall(url, headers = {}) {
  try {
    const response = await fetch(url, {
      method: 'DELETE',
      headers,
      keepalive: true,
      cache: 'no-store',
      credentials: 'same-origin',
    });
    return response.status === 204 || response.status === 404;
  } catch {
    return false;
  }
}
