/**
 * What the page adds to its own API requests (`/api/*`): nothing in anonymous mode, the signed-in
 * visitor's access token otherwise. The call's network code asks this and knows nothing of sign-in.
 */

/**
 * @typedef {object} ApiCredentials
 * @property {() => Promise<Record<string, string>>} headers  for a request about to leave: a token
 *   valid for a while yet (renewed first if it is about to expire); rejects with a UserFacingError
 *   `sign_in_required` when the visitor has to sign in again
 * @property {() => Record<string, string>} headersNow  what is in hand, without waiting (a closing tab's
 *   keepalive DELETE cannot wait for a renewal)
 */

/** @type {ApiCredentials} */
export const ANONYMOUS = Object.freeze({
  headers: () => Promise.resolve({}),
  headersNow: () => ({}),
});
