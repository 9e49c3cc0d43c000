/**
 * Renders the call's state and errors into the status region, as text only.
 */

/** @type {Record<string, string>} */
const LABELS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

/** @type {Record<string, string>} */
const HINTS = {
  idle: 'Press Connect and allow the microphone to start talking.',
  connecting: 'Setting up the call.',
  connected: 'Speak, or type a message below.',
  reconnecting: 'The connection dropped. Restoring it; the conversation so far is kept.',
  closed: 'Press Connect to start a new conversation.',
};

/**
 * What to do next after a call ended with one of these error codes, instead of the usual hint.
 * @type {Record<string, string>}
 */
const HINTS_AFTER_ERROR = {
  reconnect_failed: 'Press Connect to continue the conversation.',
  // The server could not use this browser's call setup: asking again sends the same offer.
  invalid_offer: 'Reload the page and try again. If it happens again, try another browser.',
  // The page asked for a way of calling the site has switched off: its config.json is out of date.
  not_enabled: 'This site changed how it starts calls. Reload the page, then connect again.',
  // The API's own code for a stack whose OpenAI key has not been put in yet: no retry will help.
  key_not_stored: 'This site is not set up yet: its operator has to store the OpenAI API key first.',
};

/** Codes after which the hint names the moment to come back, from the server's Retry-After. */
const COME_BACK_CODES = new Set(['quota_exceeded', 'daily_cap_reached', 'service_paused', 'concurrent_calls']);

/** While 'reconnecting' at a relayed call's cap, instead of the dropped connection's hint. */
const ROLLOVER_HINT = 'The call reached its time limit. Continuing in a new call; the conversation so far is kept.';

/**
 * The hint for a call that ended with `error`, or undefined for the usual one.
 * @param {{code?: string, retryAt?: Date} | null} error
 * @returns {string | undefined}
 */
function hintAfter(error) {
  if (!error) return undefined;
  const code = error.code ?? '';
  if (COME_BACK_CODES.has(code) && error.retryAt instanceof Date && !Number.isNaN(error.retryAt.getTime())) {
    // A clock time stays true while the sentence sits on screen; "in 4 minutes" does not.
    const sameDay = error.retryAt.toDateString() === new Date().toDateString();
    const time = error.retryAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return `You can connect again at ${time}${sameDay ? '' : ' tomorrow'}.`;
  }
  return HINTS_AFTER_ERROR[code];
}

export class CallStatus {
  /**
   * @param {object} elements
   * @param {HTMLElement} elements.root    gets `data-state` for styling
   * @param {HTMLElement} elements.label   the state in words (inside a role="status" region)
   * @param {HTMLElement} elements.hint    what to do next
   * @param {HTMLElement} elements.alert   errors (role="alert"); hidden when empty
   */
  constructor({ root, label, hint, alert }) {
    this.root = root;
    this.label = label;
    this.hint = hint;
    this.alert = alert;
  }

  /**
   * @param {string} state
   * @param {{message: string, code?: string, retryAt?: Date} | null} [error]
   * @param {string} [reason]  why 'reconnecting': 'rollover' at a call's cap, else a dropped connection
   */
  render(state, error = null, reason = undefined) {
    this.root.dataset.state = state;
    this.label.textContent = LABELS[state] ?? state;
    const rollover = state === 'reconnecting' && reason === 'rollover';
    this.hint.textContent =
      (state === 'closed' && hintAfter(error)) || (rollover ? ROLLOVER_HINT : (HINTS[state] ?? ''));
    if (error) this.showError(error.message);
    else if (state === 'connecting' || state === 'connected') this.clearError();
  }

  /** @param {string} message */
  showError(message) {
    this.alert.textContent = message;
    this.alert.hidden = false;
  }

  clearError() {
    this.alert.textContent = '';
    this.alert.hidden = true;
  }
}
