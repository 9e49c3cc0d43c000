/**
 * Loads the page's runtime configuration from config.json beside index.html.
 *
 * The deploy step writes that file for production and the local stack serves its own, so the
 * same static files run against OpenAI or against the local stand-in.
 */

import { ANONYMOUS } from './auth/credentials.js';

/** @typedef {'client_secret' | 'relay'} Negotiation how this page opens its calls */

/**
 * @typedef {object} PageConfig
 * @property {'client_secret' | 'relay' | 'both'} callMode  what the stack serves
 * @property {Negotiation} negotiation  what this page uses (see `chooseNegotiation`)
 * @property {string} sessionUrl        our own route that mints a client secret (same origin)
 * @property {string} realtimeCallsUrl  where the SDP offer is posted with a client secret (OpenAI's /v1/realtime/calls)
 * @property {string} callUrl           our own route that relays the SDP offer (same origin)
 * @property {string} warmUrl           our own route that wakes the function (`/api/warm`, beside the others)
 * @property {boolean} prepareOnIntent  prepare the call when the pointer or focus reaches Connect
 * @property {'realtime' | 'live'} voiceApi  the voice API the stack serves (GPT-Live: relay only)
 * @property {boolean} typedText  the stack lets a GPT-Live page send typed text
 * @property {import('./auth/sign-in-session.js').AuthConfig | null} auth  signed-in visitors only: whose
 *   tokens the API accepts (null: anyone may call, counted by address)
 * @property {import('./auth/credentials.js').ApiCredentials} credentials  what `/api/*` requests carry
 *   (main.js sets the signed-in visitor's; anonymous: nothing)
 */

const CALL_MODES = ['client_secret', 'relay', 'both'];

/**
 * Fetches and checks config.json.
 * @param {URL | string} [url] defaults to config.json relative to the page
 * @param {URLSearchParams} [params] the page's query: `mode` and `prepare` (for the benchmark)
 * @returns {Promise<PageConfig>}
 */
export async function loadConfig(
  url = new URL('config.json', document.baseURI),
  params = new URLSearchParams(location.search),
) {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) {
    throw new Error('The page configuration could not be loaded. Reload the page to try again.');
  }
  const raw = await response.json();
  // A config.json from before relayed calls has no callMode: it can only mean client secrets.
  const callMode = raw.callMode ?? 'client_secret';
  if (!CALL_MODES.includes(callMode)) throw incomplete();
  const negotiation = chooseNegotiation(callMode, params.get('mode'));
  const needed = negotiation === 'relay' ? ['callUrl'] : ['sessionUrl', 'realtimeCallsUrl'];
  for (const key of needed) {
    if (typeof raw[key] !== 'string' || raw[key] === '') throw incomplete();
  }
  /** @param {unknown} value */
  const resolved = (value) => (typeof value === 'string' && value !== '' ? new URL(value, document.baseURI).href : '');
  const apiRoute = resolved(raw[needed[0]]);
  return {
    callMode,
    negotiation,
    sessionUrl: resolved(raw.sessionUrl),
    realtimeCallsUrl: resolved(raw.realtimeCallsUrl),
    callUrl: resolved(raw.callUrl),
    warmUrl: new URL('warm', apiRoute).href,
    voiceApi: raw.voiceApi === 'live' ? 'live' : 'realtime',
    typedText: raw.typedText !== false,
    prepareOnIntent: raw.prepareOnIntent !== false && !['0', 'off', 'false'].includes(params.get('prepare') ?? ''),
    auth: readAuth(raw.auth),
    credentials: ANONYMOUS,
  };
}

/**
 * Which way to open calls. `both` means relay: a relayed call carries the server's cap (it is hung up
 * at its end, and the visitor's minutes are counted), which a client secret cannot. Only where the
 * stack serves both may the page's `?mode=` pick the other one (the benchmark compares them in one run);
 * it can never turn on a way the stack has switched off.
 * @param {string} callMode
 * @param {string | null} requested
 * @returns {Negotiation}
 */
function chooseNegotiation(callMode, requested) {
  if (callMode === 'both') return requested === 'client_secret' ? 'client_secret' : 'relay';
  return callMode === 'relay' ? 'relay' : 'client_secret';
}

/**
 * config.json's `auth`: null (anonymous), or the issuer, the page's client id, the API's audience and
 * the scope its routes require.
 * @param {unknown} raw
 * @returns {import('./auth/sign-in-session.js').AuthConfig | null}
 */
function readAuth(raw) {
  if (raw === undefined || raw === null) return null;
  const auth = /** @type {Record<string, unknown>} */ (raw);
  const fields = ['issuer', 'clientId', 'audience', 'scope'];
  if (typeof raw !== 'object' || fields.some((field) => typeof auth[field] !== 'string' || auth[field] === '')) {
    throw incomplete();
  }
  const requestScope = typeof auth.requestScope === 'string' && auth.requestScope !== '' ? auth.requestScope : auth.scope;
  if (!URL.canParse(String(auth.issuer))) throw incomplete();
  return {
    issuer: String(auth.issuer),
    clientId: String(auth.clientId),
    audience: String(auth.audience),
    scope: String(auth.scope),
    requestScope: String(requestScope),
  };
}

function incomplete() {
  return new Error('The page configuration is incomplete. Reload the page to try again.');
}
