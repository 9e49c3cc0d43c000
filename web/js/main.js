/**
 * Entry point: finds the page's elements and wires them to the call. No logic of its own beyond
 * deciding which control is usable in which state.
 */
import { AudioOutput } from './audio-output.js';
import { CallPreparation } from './call/prepare.js';
import { RealtimeCall } from './call/realtime-call.js';
import { CallStatus } from './call-status.js';
import { loadConfig } from './config.js';
import { Conversation } from './conversation.js';
import { DevicePicker } from './device-picker.js';
import { Microphone } from './microphone.js';
import { preconnect } from './preconnect.js';
import { TranscriptView } from './transcript-view.js';

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The page is missing #${id}.`);
  return /** @type {T} */ (element);
}

const ui = {
  connect: byId('connect'),
  disconnect: byId('disconnect'),
  mute: byId('mute'),
  enableSound: byId('enable-sound'),
  microphone: /** @type {HTMLSelectElement} */ (byId('microphone')),
  messageForm: /** @type {HTMLFormElement} */ (byId('message-form')),
  message: /** @type {HTMLInputElement} */ (byId('message')),
  send: byId('send'),
  micLevelName: byId('mic-level-name'),
  signIn: byId('sign-in'),
  signOut: byId('sign-out'),
};

const status = new CallStatus({
  root: byId('call-status'),
  label: byId('status-label'),
  hint: byId('status-hint'),
  alert: byId('call-error'),
  connect: ui.connect,
});
status.render('idle');
/** @type {Promise<import('./call-countdown.js').CallCountdown> | null} loaded with a relayed call's deadline */
let countdown = null;

const microphone = new Microphone();
const conversation = new Conversation();
const audioOutput = new AudioOutput(byId('assistant-audio'));
/** @type {Promise<Record<'mic' | 'assistant', import('./level-meter.js').LevelMeter>> | null} with the first call */
let meters = null;
/** @param {(meters: Record<'mic' | 'assistant', import('./level-meter.js').LevelMeter>) => void} use */
function withMeters(use) {
  meters ??= import('./level-meter.js').then(({ LevelMeter }) => ({
    mic: new LevelMeter(byId('mic-level')),
    assistant: new LevelMeter(byId('assistant-level')),
  }));
  void meters.then(use);
}
const transcript = new TranscriptView(byId('turns'), byId('transcript-empty'));
const devicePicker = new DevicePicker(ui.microphone);

transcript.follow(conversation);
void devicePicker.refresh();
/** @type {import('./account-view.js').AccountView | null} loaded with sign-in */
let account = null;
/** @type {import('./auth/sign-in-session.js').SignInSession | null} set when the stack signs visitors in */
let session = null;
/** The first Connect after a sign-in redirect continues the conversation it brought back. */
let resumeNext = false;

/** @param {string} state */
function renderControls(state) {
  const live = state === 'connected' || state === 'reconnecting';
  const busy = state === 'connecting' || live;
  ui.connect.hidden = busy;
  if (session) account?.render(session.state, session.user, busy);
  ui.disconnect.hidden = !busy;
  ui.mute.disabled = !live;
  ui.message.disabled = state !== 'connected';
  ui.send.disabled = state !== 'connected';
  if (!live) {
    // A new call starts unmuted, whatever the last one ended as.
    microphone.setMuted(false);
    setMutePressed(false);
  }
}

/**
 * A toggle button keeps its name and reports its state with aria-pressed.
 * @param {boolean} pressed
 */
function setMutePressed(pressed) {
  ui.mute.setAttribute('aria-pressed', String(pressed));
  ui.micLevelName.textContent = pressed ? 'You (muted)' : 'You';
}

/** The microphone in use, in the level meter and the device picker. */
function showMicrophone() {
  withMeters((m) => m.mic.listen(audioOutput.context, microphone.stream));
  void devicePicker.refresh(microphone.deviceId);
}

/**
 * Signs the visitor in when config.json names an issuer (oauth4webapi is loaded only then), finishing
 * a sign-in this load returns from and putting back the transcript it carried.
 * @param {import('./config.js').PageConfig} config
 */
async function startSignIn(config) {
  if (!config.auth) return;
  const [{ SignInSession }, { AccountView }] = await Promise.all([
    import('./auth/sign-in-session.js'),
    import('./account-view.js'),
  ]);
  account = new AccountView({ account: byId('account'), name: byId('account-name'), signIn: ui.signIn, connect: ui.connect, hint: byId('status-hint') });
  session = new SignInSession(config.auth);
  config.credentials = session.credentials();
  // Listening before the button shows: a click while the provider's metadata loads still signs in.
  ui.signIn.addEventListener('click', () => {
    session?.signIn(conversation.turns()).catch((/** @type {Error} */ error) => status.showError(error.message));
  });
  account.render(session.state, session.user, false);
  try {
    const turns = await session.start();
    if (turns?.length) {
      conversation.restore(turns);
      resumeNext = true;
    }
  } finally {
    account.render(session.state, session.user, false);
  }
}

try {
  const config = await loadConfig();
  const signingIn = startSignIn(config);
  // A relayed call's offer goes to our own origin: only client secrets need the realtime origin warm.
  if (config.negotiation === 'client_secret') preconnect(config.realtimeCallsUrl);
  else byId('privacy').textContent = 'Your voice goes straight from this browser to the voice service. This site sets up each call for you; your browser never holds a key.';
  await signingIn.catch((/** @type {Error} */ error) => status.showError(error.message));
  const preparation = config.prepareOnIntent ? new CallPreparation({ config }) : null;
  preparation?.arm(ui.connect);
  const call = new RealtimeCall({ config, microphone, conversation, preparation });

  if (new URLSearchParams(location.search).has('debug')) {
    // Tests and the benchmark read stats through this; it exists only when asked for.
    Object.defineProperty(window, '__realtimeVendDebug', {
      value: Object.freeze({ call, microphone, conversation, config, preparation }),
    });
  }

  call.addEventListener('deadline', (event) => {
    const { deadline } = /** @type {CustomEvent} */ (event).detail;
    if (deadline === null && !countdown) return; // nothing is shown
    countdown ??= import('./call-countdown.js').then(
      ({ CallCountdown }) => new CallCountdown({ clock: byId('call-countdown'), announcer: byId('countdown-announcer') }),
    );
    void countdown.then((view) => view.set(deadline));
  });
  call.addEventListener('statechange', (event) => {
    const { state, error, reason } = /** @type {CustomEvent} */ (event).detail;
    // The API refused the token (API Gateway's 401, or ours): the visitor signs in again.
    if (error?.code === 'sign_in_required') session?.expire();
    status.render(state, error, reason);
    // The session that was speaking is gone: what it left unfinished ends where it stopped.
    if (state === 'closed' || state === 'reconnecting') conversation.settle();
    renderControls(state);
    // The call's requests just reached the function: it stays warm for a while without a warm-up.
    if (state === 'connected' || state === 'closed') preparation?.reached();
    if (state === 'connected') showMicrophone();
    if (state === 'closed') {
      if (meters) withMeters((m) => [m.mic, m.assistant].forEach((meter) => meter.stop()));
      void audioOutput.close();
      if (!error) ui.connect.focus();
    }
  });
  call.addEventListener('remotestream', (event) => {
    const { stream } = /** @type {CustomEvent} */ (event).detail;
    audioOutput.attach(stream);
    withMeters((m) => (stream ? m.assistant.listen(audioOutput.context, stream) : m.assistant.stop()));
  });
  call.addEventListener('servererror', () => {
    status.showError('The assistant could not handle the last request. Try again.');
  });
  call.addEventListener('notice', (event) => status.showError(/** @type {CustomEvent} */ (event).detail.message));
  microphone.addEventListener('trackchange', showMicrophone);

  ui.connect.addEventListener('click', () => {
    // The call first, so its requests leave at once; then, still inside the click (the only
    // moment the browser lets audio start), the audio unlock.
    const connected = call.connect(resumeNext ? { resume: true } : undefined);
    resumeNext = false;
    void audioOutput.unlock();
    void connected.then(() => {
      if (call.state === 'connected') ui.disconnect.focus();
    });
  });
  ui.disconnect.addEventListener('click', () => call.disconnect());
  ui.signOut.addEventListener('click', () => {
    // The call ends first: its DELETE still carries the token.
    call.disconnect();
    session?.signOut();
    status.clearError();
  });
  session?.addEventListener('change', () => {
    renderControls(call.state);
    if (session?.state === 'expired' && call.state !== 'connected' && call.state !== 'reconnecting') {
      status.showError('Your sign-in has expired. Sign in again to continue; the conversation stays on screen.');
    }
  });
  ui.mute.addEventListener('click', () => {
    const muted = !microphone.muted;
    call.setMuted(muted);
    setMutePressed(muted);
  });
  ui.enableSound.addEventListener('click', () => void audioOutput.unlock());
  audioOutput.addEventListener('blocked', () => {
    ui.enableSound.hidden = false;
  });
  audioOutput.addEventListener('unblocked', () => {
    ui.enableSound.hidden = true;
  });
  ui.microphone.addEventListener('change', () => {
    call.switchMicrophone(ui.microphone.value).catch((/** @type {Error} */ error) => status.showError(error.message));
  });
  ui.messageForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.message.value.trim();
    if (text && call.sendText(text)) ui.message.value = '';
  });
  window.addEventListener('pagehide', () => call.disconnect());
  // GPT-Live's protocol and view, loaded only for a stack that serves it (the first load stays Realtime's).
  if (config.voiceApi === 'live') (await import('./live/live-page.js')).wire({ call, status, audioOutput });
  renderControls(call.state);
  ui.connect.disabled = false;
} catch (error) {
  status.showError(/** @type {Error} */ (error).message);
}
