/**
 * The spend cap's refusal, 429 `spend_cap_reached`: the stack's or the visitor's dollars for the UTC
 * day are spent (metered by the server's companion), until the day rolls over.
 */
import { UserFacingError } from './user-facing-error.js';

/**
 * The spend cap's refusal (on a new call, or on the reconnect after the server ended a live call at
 * the budget), said by the page: the server's sentence can only name the UTC midnight, the page knows
 * the visitor's own clock. That moment is on a minute, so the time shown is rounded to the nearest
 * one: a Retry-After counted in whole seconds must not turn 01:00 into 00:59.
 * @param {Date | undefined} retryAt
 * @param {number | undefined} retryAfterSeconds
 * @returns {UserFacingError}
 */
export function spendCapReached(retryAt, retryAfterSeconds) {
  const known = retryAt !== undefined && !Number.isNaN(retryAt.getTime());
  const when = known ? `after ${clockTime(new Date(Math.round(retryAt.getTime() / 60_000) * 60_000))}` : 'after midnight UTC';
  return new UserFacingError(`Today's spending limit for voice calls is reached. You can call again ${when}.`, {
    code: 'spend_cap_reached',
    retryAfterSeconds,
    retryAt: known ? retryAt : undefined,
  });
}

/**
 * "01:00", or "01:00 tomorrow", as the visitor's own clock shows the moment (call-status.js says a
 * pause's end the same way).
 * @param {Date} at
 * @returns {string}
 */
function clockTime(at) {
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return at.toDateString() === new Date().toDateString() ? time : `${time} tomorrow`;
}
