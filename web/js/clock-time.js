/**
 * A moment as the visitor's own clock shows it, for sentences that say when to come back: a clock
 * time stays true while the sentence sits on screen, where "in 7 minutes" would not.
 */

/**
 * "14:05", or "01:00 tomorrow" when the moment falls on the next day here.
 * @param {Date} at
 * @param {Date} [now]
 * @returns {string}
 */
export function clockTime(at, now = new Date()) {
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return at.toDateString() === now.toDateString() ? time : `${time} tomorrow`;
}
