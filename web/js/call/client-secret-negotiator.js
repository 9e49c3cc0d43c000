/**
 * How a peer session gets its answer in client-secret mode: mint an `ek_…` at our API, then post
 * the offer to OpenAI's /v1/realtime/calls with it. The minting starts as soon as the session does,
 * in parallel with the microphone and the offer; the secret is used once and then forgotten.
 */
import { fetchClientSecret } from './client-secret.js';
import { MARKS } from './marks.js';
import { exchangeSdp } from './sdp-exchange.js';

/**
 * @typedef {object} Negotiator
 * @property {(signal: AbortSignal) => Promise<void>} prepare  starts what the exchange will need
 * @property {(offerSdp: string, signal: AbortSignal) => Promise<string>} exchange  returns the answer SDP
 */

/**
 * Marks MARKS.secretReady when the secret is in hand.
 * @param {{sessionUrl: string, realtimeCallsUrl: string, credentials?: import('../auth/credentials.js').ApiCredentials}} config
 * @returns {Negotiator} for exactly one session
 */
export function clientSecretNegotiator(config) {
  /** @type {Promise<import('./client-secret.js').ClientSecret> | null} */
  let secret = null;
  return {
    prepare(signal) {
      secret = fetchClientSecret(config.sessionUrl, { signal, credentials: config.credentials }).then((value) => {
        performance.mark(MARKS.secretReady);
        return value;
      });
      return secret.then(() => undefined);
    },
    async exchange(offerSdp, signal) {
      if (!secret) throw new Error('prepare() must come first');
      const { value } = await secret;
      return exchangeSdp(config.realtimeCallsUrl, value, offerSdp, { signal });
    },
  };
}
