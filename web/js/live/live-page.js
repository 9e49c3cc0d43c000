/**
 * The page in GPT-Live mode (config.json `"voiceApi": "live"`), loaded by main.js only then: gives the
 * call GPT-Live's protocol and shows what only GPT-Live has. The call's states, controls and errors
 * stay main.js's and call-status.js's; this adds:
 * - standby: "Paused (standby): speak to wake it" while GPT-Live's inference is paused;
 * - a rollover at OpenAI's own session limit said as such;
 * - the assistant's speaking indicator, from its audio;
 * - with typed text off, no text box but one sentence saying typing is not available.
 */
import { LiveProtocol } from './live-protocol.js';
import { SpeakingIndicator } from './speaking-indicator.js';

const PAUSED_LABEL = 'Paused (standby): speak to wake it';
const CONNECTED_LABEL = 'Connected';
const EXPIRED_HINT =
  "The voice session reached OpenAI's session limit. Continuing in a new call; the conversation so far is kept.";
const SPEAK_HINT = 'Speak to the assistant.';
const NO_TYPING = 'Typing is not available on this page: speak to the assistant.';

/**
 * @param {object} deps
 * @param {import('../call/realtime-call.js').RealtimeCall} deps.call  not connected yet
 * @param {import('../call-status.js').CallStatus} deps.status
 * @param {import('../audio-output.js').AudioOutput} deps.audioOutput  whose (unlocked) context listens
 */
export function wire({ call, status, audioOutput }) {
  const config = /** @type {import('../config.js').PageConfig} */ (call.config);
  const protocol = new LiveProtocol({ typedText: config.typedText, credentials: () => call.config.credentials });
  call.protocol = protocol;

  /** @type {string | null} why the last session ended, by our API */
  let ended = null;
  protocol.addEventListener('standby', (event) => {
    const { paused } = /** @type {CustomEvent<{paused: boolean}>} */ (event).detail;
    status.root.dataset.standby = String(paused);
    if (call.state === 'connected') status.label.textContent = paused ? PAUSED_LABEL : CONNECTED_LABEL;
  });
  protocol.addEventListener('sessionend', (event) => {
    ended = /** @type {CustomEvent<{reason: string | null}>} */ (event).detail.reason;
  });
  // After main.js's listener (registered first), which has just rendered the state.
  call.addEventListener('statechange', (event) => {
    const { state, reason } = /** @type {CustomEvent} */ (event).detail;
    if (state === 'reconnecting' && reason === 'rollover' && ended === 'expired') status.hint.textContent = EXPIRED_HINT;
    if (state === 'connected' && !config.typedText) status.hint.textContent = SPEAK_HINT;
    if (state !== 'reconnecting') ended = null;
  });

  const meter = document.getElementById('assistant-level');
  const name = meter?.closest('.level')?.querySelector('.level__name');
  if (name instanceof HTMLElement) {
    const indicator = new SpeakingIndicator(name);
    call.addEventListener('remotestream', (event) => {
      const { stream } = /** @type {CustomEvent<{stream: MediaStream | null}>} */ (event).detail;
      indicator.listen(audioOutput.context, stream);
    });
  }

  const form = document.getElementById('message-form');
  if (!config.typedText && form) {
    form.hidden = true;
    const note = document.createElement('p');
    note.className = 'privacy';
    note.textContent = NO_TYPING;
    form.after(note);
  }
}
