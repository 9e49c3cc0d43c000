/**
 * The assistant's tool calls as the visitor reads them: one line per call ("Checked the time").
 * Loaded by the conversation with the first call, since most conversations have none.
 *
 * Only the tool's name is used. The arguments and the output stay out of the page: a tool may be
 * given, or return, what this visitor may not see. The page never answers a tool either: only the
 * server's companion runs tools and sends their output (a page could forge one, so none counts).
 */

/** @type {Readonly<Record<string, string>>} the tools the stack ships (functions/vend/tools/), said as what happened */
const PHRASES = Object.freeze({ get_current_time: 'Checked the time', end_call: 'Ended the call' });

/**
 * The transcript's line for a call of `name`; another tool's name is shown as text.
 * @param {string} name
 * @returns {string}
 */
export function describeToolCall(name) {
  return Object.hasOwn(PHRASES, name) ? PHRASES[name] : `Used ${name}`;
}
