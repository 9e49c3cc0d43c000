/**
 * Fetches a short-lived client secret (`ek_…`) from our own API.
 *
 * The secret is returned to the caller for one call and never stored or logged: it is a bearer
 * credential for a Realtime session until it expires.
 *
 * Errors: our API answers `{"error": {"code", "message"}}` and its message is a sentence written for
 * the user, so the page shows it as it is and decides from the `code` (never from the status alone)
 * whether trying again can help. Only an answer without a code, i.e. API Gateway's own
 * (`{"message": "Too Many Requests"}`), gets a sentence of the page's own.
 */
import { ANONYMOUS } from '../auth/credentials.js';
import { parseRetryAfter, retryAfterMoment } from './backoff.js';
import { UserFacingError } from '../user-facing-error.js';

/**
 * @typedef {object} ClientSecret
 * @property {string} value      the ephemeral key, sent once as a Bearer token with the SDP offer
 * @property {number} expiresAt  Unix seconds
 */

/** The codes of our API (openapi.yaml) after which the same request may work later. */
const RETRYABLE_CODES = new Set([
  'upstream_rate_limited',
  'upstream_unavailable',
  'upstream_timeout',
  'secrets_unavailable',
  'quota_unavailable',
  'temporarily_unavailable',
  'internal_error',
]);
// Not retried on its own: quota_exceeded, daily_cap_reached, spend_cap_reached, concurrent_calls and
// service_paused say when to come back, and a page that retried would only spend the visitor's quota
// on refusals; invalid_offer and not_enabled will not change by asking again.
/** API Gateway's throttle sends no Retry-After; this is how long a person should wait. */
const THROTTLED_WAIT_SECONDS = 10;
/**
 * What OpenAI issues as a client secret. Anything else (an `sk-` API key above all) is refused before
 * it is sent anywhere: a bearer token the page does not recognise must not leave it.
 */
const CLIENT_SECRET_PATTERN = /^ek_[A-Za-z0-9_-]{8,256}$/;

/**
 * POSTs to the session route and returns the secret.
 * @param {string} sessionUrl
 * @param {{signal?: AbortSignal, credentials?: import('../auth/credentials.js').ApiCredentials}} [options]
 * @returns {Promise<ClientSecret>}
 * @throws {UserFacingError} with text that says what happened and when to try again
 */
export async function fetchClientSecret(sessionUrl, { signal, credentials = ANONYMOUS } = {}) {
  const authorization = await credentials.headers();
  let response;
  try {
    response = await fetch(sessionUrl, {
      method: 'POST',
      headers: { ...authorization, 'Content-Type': 'application/json' },
      body: '{}',
      cache: 'no-store',
      credentials: 'same-origin',
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new UserFacingError('The service could not be reached. Check your connection and try again.', {
      code: 'network_error',
      retryable: true,
      cause: error,
    });
  }
  if (!response.ok) throw await errorFromApiResponse(response);

  const body = await response.json().catch(() => null);
  if (typeof body?.value !== 'string' || !CLIENT_SECRET_PATTERN.test(body.value)) {
    throw new UserFacingError(
      'The service did not hand out a valid pass for the call, so it was not started. Its operators need to check its setup.',
      { code: 'invalid_client_secret' },
    );
  }
  return { value: body.value, expiresAt: Number(body.expires_at) };
}

/**
 * Turns an error response of our API (/api/session or /api/call) into a UserFacingError.
 * @param {Response} response
 * @returns {Promise<UserFacingError>}
 */
export async function errorFromApiResponse(response) {
  const body = await response.json().catch(() => null);
  const retryAfter = response.headers.get('Retry-After');
  const retryAfterSeconds = parseRetryAfter(retryAfter);
  const code = body?.error?.code;
  const message = body?.error?.message;
  if (code === 'spend_cap_reached') {
    // Loaded only for this refusal, which few visitors ever meet.
    const { spendCapReached } = await import('../spend-cap.js');
    return spendCapReached(retryAfterMoment(retryAfter), retryAfterSeconds);
  }
  if (typeof code === 'string' && typeof message === 'string' && message.trim() !== '') {
    return new UserFacingError(message.trim(), {
      code,
      retryable: RETRYABLE_CODES.has(code),
      retryAfterSeconds,
      retryAt: retryAfterMoment(retryAfter),
    });
  }
  // No code: not our handler's answer but API Gateway's (its JWT authorizer, its throttle, or a crash).
  if (response.status === 401) {
    return new UserFacingError('Your sign-in has expired or is no longer valid. Sign in again to continue.', {
      code: 'sign_in_required',
    });
  }
  if (response.status === 403) {
    return new UserFacingError(
      "Your account is not allowed to start calls here. Sign in with another account, or ask the site's owner for access.",
      { code: 'not_allowed' },
    );
  }
  if (response.status === 429) {
    const wait = retryAfterSeconds ?? THROTTLED_WAIT_SECONDS;
    return new UserFacingError(`Too many people are connecting right now. Try again in ${wait} s.`, {
      code: 'throttled',
      retryable: true,
      retryAfterSeconds: wait,
    });
  }
  if (response.status >= 500) {
    return new UserFacingError('The service is having trouble starting a session. Try again in a moment.', {
      code: `http_${response.status}`,
      retryable: true,
      retryAfterSeconds,
    });
  }
  return new UserFacingError('The service refused to start a session. Reload the page and try again.', {
    code: `http_${response.status}`,
  });
}
