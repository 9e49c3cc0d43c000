/**
 * When to try again: jittered exponential delays, a server's Retry-After kept within sane bounds,
 * a budget on how often a call may mint a new client secret, and a sleep that an AbortSignal ends.
 */

/** Retry-After is honoured within these bounds: a hostile or buggy value must neither spin nor stall. */
const RETRY_AFTER_MIN_SECONDS = 1;
const RETRY_AFTER_MAX_SECONDS = 120;
/** setTimeout fires at once for anything above this (a signed 32-bit count of milliseconds). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * @param {number} seconds
 * @returns {number} whole seconds within [RETRY_AFTER_MIN_SECONDS, RETRY_AFTER_MAX_SECONDS]
 */
function clampRetryAfter(seconds) {
  if (!Number.isFinite(seconds)) return RETRY_AFTER_MAX_SECONDS;
  return Math.min(RETRY_AFTER_MAX_SECONDS, Math.max(RETRY_AFTER_MIN_SECONDS, Math.ceil(seconds)));
}

/**
 * Reads a Retry-After header: delta-seconds or an HTTP date.
 * @param {string | null} header
 * @returns {number | undefined} clamped whole seconds, or undefined when absent or unreadable
 */
export function parseRetryAfter(header) {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return clampRetryAfter(Number(value));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : clampRetryAfter((date - Date.now()) / 1000);
}

/**
 * The moment a Retry-After names, unclamped: what a person is told ("come back at 14:32"), where the
 * clamped value above only decides how long the page itself waits before retrying on its own.
 * @param {string | null} header
 * @param {number} [now] epoch milliseconds
 * @returns {Date | undefined}
 */
export function retryAfterMoment(header, now = Date.now()) {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,9}$/.test(value)) return new Date(now + Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : new Date(date);
}

/**
 * @typedef {object} DelayOptions
 * @property {number} [retryAfterSeconds] the server's wish (already clamped), a floor
 * @property {number} baseMs   the wait before the first retry is baseMs to 1.5 × baseMs
 * @property {number} maxMs    the exponential part stops growing here
 */

/**
 * How long to wait before the next attempt, after `failures` failed ones in a row. Never less than
 * `baseMs`, and jittered upwards by up to half, so tabs dropped at the same moment do not come back
 * in lockstep.
 * @param {number} failures  0 for the first retry after a connection that had been working
 * @param {DelayOptions} options
 * @returns {number} milliseconds (for `sleep`, which bounds them to what a timer can hold)
 */
export function retryDelayMs(failures, { retryAfterSeconds, baseMs, maxMs }) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures));
  const floor = Math.max(ceiling, (retryAfterSeconds ?? 0) * 1000);
  return floor * (1 + Math.random() / 2);
}

/**
 * At most `limit` reconnects per sliding `windowMs`. Each one opens a new session (a client secret
 * minted, or a relayed call started) and may cost money, so a page that loses every session
 * quickly must stop asking rather than reconnect forever.
 */
export class ReconnectBudget {
  /** @type {number[]} when each counted reconnect was taken */
  #taken = [];

  /**
   * @param {object} options
   * @param {number} options.limit
   * @param {number} options.windowMs
   */
  constructor({ limit, windowMs }) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** @returns {boolean} true and counts one reconnect if the budget allows it, false otherwise */
  take() {
    const now = performance.now();
    this.#taken = this.#taken.filter((at) => now - at < this.windowMs);
    if (this.#taken.length >= this.limit) return false;
    this.#taken.push(now);
    return true;
  }
}

/**
 * Waits `ms` (bounded to what a timer can hold), or rejects with an AbortError as soon as `signal`
 * aborts. The timer and the listener are both gone either way.
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const done = new AbortController();
    const timer = setTimeout(() => {
      done.abort();
      resolve();
    }, Math.min(MAX_TIMER_MS, Math.max(0, ms)));
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true, signal: done.signal },
    );
  });
}
