/**
 * Posts the SDP offer to the Realtime calls endpoint and returns the answer.
 *
 * Only `Authorization` and `Content-Type` are sent: the endpoint's CORS preflight allows no other
 * request headers.
 */
import { UserFacingError } from '../user-facing-error.js';

/**
 * @param {string} callsUrl        e.g. https://api.openai.com/v1/realtime/calls
 * @param {string} clientSecret    the `ek_…` value, used once here
 * @param {string} offerSdp
 * @param {{signal?: AbortSignal}} [options]
 * @returns {Promise<string>} the answer SDP
 * @throws {UserFacingError}
 */
export async function exchangeSdp(callsUrl, clientSecret, offerSdp, { signal } = {}) {
  let response;
  try {
    response = await fetch(callsUrl, {
      method: 'POST',
      body: offerSdp,
      headers: { Authorization: `Bearer ${clientSecret}`, 'Content-Type': 'application/sdp' },
      cache: 'no-store',
      credentials: 'omit',
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new UserFacingError('The voice service could not be reached. Check your connection and try again.', {
      code: 'sdp_network_error',
      retryable: true,
      cause: error,
    });
  }
  if (response.status !== 201 && response.status !== 200) {
    // The body is JSON {error: {message}} from OpenAI; its text is for developers, so it is
    // not shown, only the status decides the wording.
    await response.body?.cancel();
    const retryable = response.status === 429 || response.status >= 500;
    throw new UserFacingError(
      retryable
        ? 'The voice service is busy and could not start the call. Try again in a moment.'
        : 'The voice service rejected the call setup. Reload the page and try again.',
      { code: `sdp_http_${response.status}`, retryable },
    );
  }
  const sdp = await response.text();
  if (!sdp.startsWith('v=')) {
    throw new UserFacingError('The voice service sent an unexpected answer. Try again in a moment.', {
      code: 'sdp_invalid_answer',
      retryable: true,
    });
  }
  return sdp;
}
