/**
 * Loads the page's runtime configuration from config.json beside index.html.
 *
 * The deploy step writes that file for production and the local stack serves its own, so the
 * same static files run against OpenAI or against the local stand-in.
 */

/**
 * @typedef {object} PageConfig
 * @property {string} sessionUrl        our own route that mints a client secret (same origin)
 * @property {string} realtimeCallsUrl  where the SDP offer is posted (OpenAI's /v1/realtime/calls)
 */

/**
 * Fetches and checks config.json.
 * @param {URL | string} [url] defaults to config.json relative to the page
 * @returns {Promise<PageConfig>}
 */
export async function loadConfig(url = new URL('config.json', document.baseURI)) {
  const response = await fetch(url, { cache: 'no-cache' });
  if (!response.ok) {
    throw new Error('The page configuration could not be loaded. Reload the page to try again.');
  }
  const raw = await response.json();
  for (const key of ['sessionUrl', 'realtimeCallsUrl']) {
    if (typeof raw[key] !== 'string' || raw[key] === '') {
      throw new Error('The page configuration is incomplete. Reload the page to try again.');
    }
  }
  return {
    sessionUrl: new URL(raw.sessionUrl, document.baseURI).href,
    realtimeCallsUrl: new URL(raw.realtimeCallsUrl, document.baseURI).href,
  };
}
