/**
 * Why an open session ended without the page closing it, which decides what the call does next:
 * - 'assistant': the assistant called the `end_call` tool, and the server hung up after its goodbye.
 *   The call ends; nothing reconnects.
 * - 'cap': the server hung the call up at its cap (`Call-Ends-At`). A relayed call rolls over into a
 *   new one at once, outside the reconnect budget.
 * - 'dropped': anything else. The call reconnects within its budget.
 */

/**
 * A session lost this close before its call's cap, or any time after it, was hung up at the cap. The
 * server's companion hangs up within 1 s of `Call-Ends-At` (the Scheduler backstop up to a minute
 * after), and the page's deadline can run up to a second late on the server's: `Date` has whole
 * seconds. The page notices a hang-up at once when the data channel closes, or within its dead-path
 * and grace delays (a few seconds), which are all after the hang-up: hence no bound after the cap.
 */
export const CAP_SLACK_MS = 3000;

/**
 * @param {object} session
 * @param {boolean} session.endCallSeen  the session carried an `end_call` function call
 * @param {number | undefined} session.deadline  when the server ends the call (epoch ms), if relayed
 * @param {number} [now]  epoch ms
 * @returns {'assistant' | 'cap' | 'dropped'}
 */
export function whySessionEnded({ endCallSeen, deadline }, now = Date.now()) {
  if (endCallSeen) return 'assistant';
  if (deadline !== undefined && now >= deadline - CAP_SLACK_MS) return 'cap';
  return 'dropped';
}
