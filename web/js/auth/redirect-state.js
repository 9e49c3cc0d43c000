/**
 * What must survive the trip to the identity provider's sign-in page and back, and nothing else.
 *
 * A full-page redirect loses every variable, so the PKCE code verifier, the state and the nonce wait in
 * sessionStorage (this tab only, gone when it closes), with the transcript on screen so that signing in
 * again after an expired session does not wipe the conversation. They are read once and removed at the
 * callback. No token is ever stored: tokens live in memory only (README, "Signed-in visitors").
 */

const KEY = 'realtime-vend.sign-in';

/**
 * @typedef {object} PendingSignIn
 * @property {string} state
 * @property {string} nonce
 * @property {string} codeVerifier
 * @property {Array<{role: 'user' | 'assistant', text: string}>} transcript  what was on screen
 * @property {string} returnQuery  the page's query before the redirect (`?mode=…`), put back after it
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
      transcript: transcript.filter(
        (/** @type {any} */ turn) => ['user', 'assistant'].includes(turn?.role) && typeof turn?.text === 'string',
      ),
    };
  } catch {
    return null;
  }
}
