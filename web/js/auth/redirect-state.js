/**
 * What must survive the trip to the identity provider's sign-in page and back, and nothing else.
 *
 * A full-page redirect loses every variable, so the PKCE code verifier, the state and the nonce wait in
 * sessionStorage (this tab only, gone when it closes), with the transcript on screen so that signing in
 * again after an expired session does not wipe the conversation. They are read once and removed at the
 * callback. No token is ever stored: tokens live in memory only (docs/signed-in.md, "On the page").
 *
 * One more value outlives a page: a mark that this tab was signed in, so that a reload signs the
 * visitor in again without a click (a silent round trip to the provider, which remembers them). It
 * says nothing about who, and grants nothing.
 */

const KEY = 'realtime-vend.sign-in';
const SIGNED_IN_KEY = 'realtime-vend.signed-in';

/**
 * @typedef {object} PendingSignIn
 * @property {string} state
 * @property {string} nonce
 * @property {string} codeVerifier
 * @property {Array<{role: 'user' | 'assistant', text: string}>} transcript  what was on screen
 * @property {string} returnQuery  the page's query before the redirect (`?mode=…`), put back after it
 * @property {boolean} silent  asked with `prompt=none` (a reload): a refusal means "sign in", not an error
 */

/** @returns {Storage | null} this tab's sessionStorage, or null where the browser refuses it */
function storage() {
  try {
    // eslint-disable-next-line no-restricted-globals -- the one use: PKCE values and the transcript across the sign-in redirect, never a token
    return sessionStorage;
  } catch {
    return null;
  }
}

/** @param {PendingSignIn} pending */
export function rememberSignIn(pending) {
  storage()?.setItem(KEY, JSON.stringify(pending));
}

/**
 * The pending sign-in, once: it is removed as it is read, so a reload of the callback URL cannot
 * replay the code.
 * @returns {PendingSignIn | null}
 */
export function takeSignIn() {
  const store = storage();
  const raw = store?.getItem(KEY) ?? null;
  store?.removeItem(KEY);
  if (!raw) return null;
  try {
    const pending = JSON.parse(raw);
    const fields = ['state', 'nonce', 'codeVerifier', 'returnQuery'];
    if (fields.some((field) => typeof pending?.[field] !== 'string')) return null;
    const transcript = Array.isArray(pending.transcript) ? pending.transcript : [];
    return {
      ...pending,
      silent: pending.silent === true,
      transcript: transcript.filter(
        (/** @type {any} */ turn) => ['user', 'assistant'].includes(turn?.role) && typeof turn?.text === 'string',
      ),
    };
  } catch {
    return null;
  }
}

/** Marks this tab as signed in (a sign-in finished) or not (signed out, or a silent attempt used up). */
export function rememberSignedIn(signedIn = true) {
  if (signedIn) storage()?.setItem(SIGNED_IN_KEY, '1');
  else storage()?.removeItem(SIGNED_IN_KEY);
}

/** @returns {boolean} whether this tab was signed in before this load */
export function wasSignedIn() {
  return storage()?.getItem(SIGNED_IN_KEY) === '1';
}
