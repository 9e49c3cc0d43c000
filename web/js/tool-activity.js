/**
 * The assistant's tool calls as the visitor reads them: one line per call ("Checked the time"), found
 * in the function-call events the data channel carries.
 *
 * Only the tool's name is read. The arguments and the output stay out of the page: a tool may be
 * given, or return, what this visitor may not see. The page never answers a tool either: only the
 * server's companion runs tools and sends their output (a page could forge one, so none counts).
 */

/** The tool the assistant calls to hang up (functions/vend/tools/): the call then ends by itself. */
export const END_CALL_TOOL = 'end_call';

/** @type {Readonly<Record<string, string>>} the tools the stack ships, said as what happened */
const PHRASES = Object.freeze({
  get_current_time: 'Checked the time',
  [END_CALL_TOOL]: 'Ended the call',
});

/**
 * @typedef {object} ToolCall
 * @property {string} itemId  the function-call item's id: every event of one call shares it
 * @property {string} name    the function's name, as the model wrote it (text, never markup)
 */

/**
 * The function call a server event is about, or null: `response.output_item.added` and `.done` of a
 * `function_call` item, and `response.function_call_arguments.done`.
 * @param {{type: string} & Record<string, any>} event
 * @returns {ToolCall | null}
 */
export function toolCallOf(event) {
  let itemId;
  let name;
  if (event.type === 'response.output_item.added' || event.type === 'response.output_item.done') {
    if (event.item?.type !== 'function_call') return null;
    itemId = event.item.id ?? event.item.call_id;
    name = event.item.name;
  } else if (event.type === 'response.function_call_arguments.done') {
    itemId = event.item_id ?? event.call_id;
    name = event.name;
  } else {
    return null;
  }
  if (typeof itemId !== 'string' || itemId === '' || typeof name !== 'string' || name === '') return null;
  return { itemId, name };
}

/**
 * The transcript's line for a call of `name`.
 * @param {string} name
 * @returns {string}
 */
export function describeToolCall(name) {
  return Object.hasOwn(PHRASES, name) ? PHRASES[name] : `Used ${name}`;
}
