/**
 * Fetches a short-lived client secret (`ek_…`) from our own API.
 *
 * The secret is returned to the caller for one call and never stored or logged: it is a bearer
 * credential for a Realtime session until it expires.
 */
import { UserFacingError } from './user-facing-error.js';

/**
 * @typedef {object} ClientSecret
 * @property {string} value      the ephemeral key, sent once as a Bearer token with the SDP offer
 * @property {number} expiresAt  Unix seconds
 */

/**
 * POSTs to the session route and returns the secret.
 * @param {string} sessionUrl
 * @param {{signal?: AbortSignal}} [options]
 * @returns {Promise<ClientSecret>}
 * @throws {UserFacingError} with text that says what happened and when to try again
 */
export async function fetchClientSecret(sessionUrl, { signal } = {}) {
  let response;
  try {
    response = await fetch(sessionUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
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
  if (!response.ok) throw await errorFromResponse(response);

  const body = await response.json().catch(() => null);
  if (typeof body?.value !== 'string' || body.value === '') {
    throw new UserFacingError('The service sent an unexpected answer. Try again in a moment.', {
      code: 'invalid_session_response',
      retryable: true,
    });
  }
  return { value: body.value, expiresAt: Number(body.expires_at) };
}

/**
 * Turns an error response into a UserFacingError.
 * @param {Response} response
 * @returns {Promise<UserFacingError>}
 */
async function errorFromResponse(response) {
  const body = await response.json().catch(() => null);
  const retryAfterSeconds = parseRetryAfter(response.headers.get('Retry-After'));
  const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${response.status}`;
  // Our handler's messages are written for users; API Gateway's own ({"message": "..."}) are not.
  const serverMessage = typeof body?.error?.message === 'string' ? body.error.message.trim() : '';

  let message;
  if (response.status === 429) {
    message = 'Too many people are connecting right now.';
  } else if (serverMessage) {
    message = serverMessage;
  } else if (response.status >= 500) {
    message = 'The service is having trouble starting a session.';
  } else {
    message = 'The service refused to start a session.';
  }
  const retryable = response.status === 429 || response.status >= 500;
  const wait = retryAfterSeconds ?? (response.status === 429 ? 10 : undefined);
  if (wait !== undefined) {
    message = `${withPeriod(message)} Try again in ${wait} s.`;
  } else if (retryable && !/try again/i.test(message)) {
    message = `${withPeriod(message)} Try again in a moment.`;
  }
  return new UserFacingError(message, { code, retryable, retryAfterSeconds: wait });
}

/**
 * @param {string | null} header
 * @returns {number | undefined} whole seconds, from delta-seconds or an HTTP date
 */
function parseRetryAfter(header) {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

/** @param {string} text */
function withPeriod(text) {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
