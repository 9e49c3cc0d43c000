/**
 * Renders the call's state and errors into the status region, as text only, and holds Connect off
 * while a refusal's wait runs.
 */

/**
 * By state, and by the reason a call closed where that says more (a calm sentence, not an error).
 * @type {Record<string, string>}
 */
const LABELS = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
  assistant: 'The assistant ended the call.',
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

/**
 * Refusals that say when to come back (the server's Retry-After). The error's sentence says when
 * ("in 7 minutes"; the spend cap's, written by the page, the clock time), except a pause's: only then
 * does the hint name a time, the clock time. Connect stays off until then, as pressing it could only
 * be refused again; not for concurrent_calls, whose wait ends as soon as the visitor ends their other
 * call.
 */
const COME_BACK_CODES = new Set([
  'quota_exceeded',
  'daily_cap_reached',
  'spend_cap_reached',
  'service_paused',
  'concurrent_calls',
]);

/** While 'reconnecting' at a relayed call's cap, instead of the dropped connection's hint. */
const ROLLOVER_HINT = 'The call reached its time limit. Continuing in a new call; the conversation so far is kept.';
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a refusal says to come back, or null.
 * @param {{code?: string, retryAt?: Date} | null} error
 * @returns {Date | null}
 */
function comeBackAt(error) {
  const at = error?.retryAt;
  return COME_BACK_CODES.has(error?.code ?? '') && at instanceof Date && !Number.isNaN(at.getTime()) ? at : null;
}

/**
 * "You can connect again at 14:05." A clock time stays true while the sentence sits on screen.
 * @param {Date} at
 */
function clockHint(at) {
  const sameDay = at.toDateString() === new Date().toDateString();
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `You can connect again at ${time}${sameDay ? '' : ' tomorrow'}.`;
}

export class CallStatus {
  /** whether the call connected since the last Connect: a refusal before then is no disconnection */
  #connected = false;
  #wait = 0;

  /**
   * @param {object} elements
   * @param {HTMLElement} elements.root    gets `data-state` for styling
   * @param {HTMLElement} elements.label   the state in words (inside a role="status" region)
   * @param {HTMLElement} elements.hint    what to do next
   * @param {HTMLElement} elements.alert   errors (role="alert"); hidden when empty
   * @param {HTMLButtonElement} [elements.connect]  turned off while a refusal's wait runs
   */
  constructor({ root, label, hint, alert, connect }) {
    this.root = root;
    this.label = label;
    this.hint = hint;
    this.alert = alert;
    this.connect = connect;
  }

  /**
   * @param {string} state
   * @param {{message: string, code?: string, retryAt?: Date} | null} [error]
   * @param {string} [reason]  why 'reconnecting': 'rollover' at a call's cap, else a dropped connection;
   *   why 'closed': 'assistant' when the assistant hung up
   */
  render(state, error = null, reason = undefined) {
    this.#endWait();
    if (state === 'connecting') this.#connected = false;
    if (state === 'connected') this.#connected = true;
    const until = state === 'closed' ? comeBackAt(error) : null;
    this.root.dataset.state = state;
    const closedBy = state === 'closed' ? reason : undefined;
    this.label.textContent = until && !this.#connected ? LABELS.idle : (LABELS[closedBy ?? state] ?? state);
    const rollover = state === 'reconnecting' && reason === 'rollover';
    let hint = rollover ? ROLLOVER_HINT : (HINTS[state] ?? '');
    if (until) {
      hint = error?.code === 'service_paused' ? clockHint(until) : '';
      if (error?.code !== 'concurrent_calls') this.#waitUntil(until);
    } else if (state === 'closed') {
      hint = HINTS_AFTER_ERROR[error?.code ?? ''] ?? hint;
    }
    this.hint.textContent = hint;
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

  /** @param {Date} until */
  #waitUntil(until) {
    if (!this.connect) return;
    this.connect.disabled = true;
    this.#wait = setTimeout(() => {
      this.#endWait();
      this.clearError();
      this.hint.textContent = this.#connected ? HINTS.closed : HINTS.idle;
    }, Math.min(Math.max(until.getTime() - Date.now(), 0), MAX_TIMER_MS));
  }

  #endWait() {
    if (!this.#wait) return;
    clearTimeout(this.#wait);
    this.#wait = 0;
    if (this.connect) this.connect.disabled = false;
  }
}
