/**
 * An error whose message is written for the person using the page.
 *
 * Modules that talk to the network or to devices throw this, so the status region can show
 * `message` as it is, and the call can decide from `retryable` whether reconnecting may help.
 */
export class UserFacingError extends Error {
  /**
   * @param {string} message one clear sentence for the user
   * @param {object} [details]
   * @param {string} [details.code] a stable machine-readable reason, e.g. 'microphone_denied'
   * @param {boolean} [details.retryable] whether trying again later may succeed
   * @param {number} [details.retryAfterSeconds] when the server told us to wait (clamped: for retrying)
   * @param {Date} [details.retryAt] the moment the server named, unclamped: for telling the user
   * @param {unknown} [details.cause]
   */
  constructor(message, { code = 'error', retryable = false, retryAfterSeconds, retryAt, cause } = {}) {
    super(message, { cause });
    this.name = 'UserFacingError';
    this.code = code;
    this.retryable = retryable;
    this.retryAfterSeconds = retryAfterSeconds;
    this.retryAt = retryAt;
  }
}
