// OpenAI's Agents SDK in the browser, on a client secret from realtime-vend's /api/session.
// The API key stays in the Lambda; this page only ever holds a short-lived `ek_…`.
// Bundle with `npm run build` (esbuild) and open index.html from the stack's origin.
import './zod-jitless.js'; // first: see the file
import { RealtimeAgent, RealtimeSession } from '@openai/agents-realtime';

const connectButton = document.querySelector('#connect');
const disconnectButton = document.querySelector('#disconnect');
const statusText = document.querySelector('#status');
const modelText = document.querySelector('#model');
const transcriptList = document.querySelector('#transcript');
const errorText = document.querySelector('#error');

/** @type {RealtimeSession | null} */
let session = null;

/**
 * Mints a client secret: `{value: 'ek_…', expires_at, session: {model, instructions, audio, …}}`.
 * @returns {Promise<{value: string, expires_at: number, session: Record<string, any>}>}
 */
async function mintClientSecret() {
  const response = await fetch('/api/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    // Our API's messages are written for users (openapi.yaml lists every code).
    throw new Error(body?.error?.message ?? `The session service answered ${response.status}.`);
  }
  if (typeof body?.value !== 'string' || !body.value.startsWith('ek_') || typeof body.session?.model !== 'string') {
    throw new Error('The session service did not return a client secret.');
  }
  return body;
}

/** Where calls go: `<realtime origin>/v1/realtime/calls`, as the stack's config.json says. */
async function realtimeCallsUrl() {
  const response = await fetch('/config.json', { cache: 'no-cache' });
  const config = await response.json();
  return config.realtimeCallsUrl;
}

/**
 * The agent and session options that restate the minted session. On connect the SDK sends a
 * full `session.update` (instructions, voice, audio, model, tracing); any value it is not given is
 * the SDK's default, which would replace what the server decided.
 * @param {Record<string, any>} minted the `session` of the /api/session response
 */
function sessionFromMint(minted) {
  const input = minted.audio?.input ?? {};
  const agent = new RealtimeAgent({
    name: 'Assistant',
    instructions: minted.instructions ?? '',
    voice: minted.audio?.output?.voice,
  });
  return new RealtimeSession(agent, {
    transport: 'webrtc',
    model: minted.model,
    tracingDisabled: !minted.tracing, // the server minted no tracing: keep it off
    config: {
      outputModalities: minted.output_modalities,
      audio: {
        input: {
          format: input.format,
          noiseReduction: input.noise_reduction ?? null,
          transcription: input.transcription ?? null,
          turnDetection: input.turn_detection ?? null,
        },
        output: { format: minted.audio?.output?.format, speed: minted.audio?.output?.speed },
      },
    },
  });
}

/** The text of one history item, whatever its parts (typed text or an audio transcript). */
function itemText(item) {
  return item.content
    .map((part) => part.text ?? part.transcript ?? '')
    .join('')
    .trim();
}

/** Keeps one list entry per message; only entries whose text changed are touched. */
function renderHistory(history) {
  for (const item of history) {
    if (item.type !== 'message' || item.role === 'system') continue;
    let entry = transcriptList.querySelector(`li[data-item-id="${CSS.escape(item.itemId)}"]`);
    if (entry === null) {
      entry = document.createElement('li');
      entry.dataset.itemId = item.itemId;
      entry.dataset.role = item.role;
      transcriptList.append(entry);
    }
    const text = itemText(item);
    if (entry.textContent !== text) entry.textContent = text; // network text stays text
    entry.dataset.final = String(item.status === 'completed');
  }
}

/** A readable line for the SDK's `error` event: a server `error` event, or an Error it caught. */
function errorMessage(event) {
  const cause = event?.error;
  return cause?.error?.message ?? cause?.message ?? 'The call failed.';
}

function showError(text) {
  errorText.textContent = text;
  errorText.hidden = text === '';
}

function showStatus(text) {
  statusText.textContent = text;
}

function showConnected(connected) {
  connectButton.hidden = connected;
  disconnectButton.hidden = !connected;
}

async function connect() {
  connectButton.disabled = true;
  showError('');
  showStatus('Connecting…');
  try {
    const [secret, url] = await Promise.all([mintClientSecret(), realtimeCallsUrl()]);
    session = sessionFromMint(secret.session);
    session.on('history_updated', renderHistory);
    // The model the service runs, as it reports it (not what we asked for).
    session.on('transport_event', (event) => {
      if (event.type === 'session.created' || event.type === 'session.updated') {
        modelText.textContent = event.session?.model ?? '–';
      }
    });
    // The service refusing an event (e.g. a session.update) leaves the call up: say so beside it.
    session.on('error', (event) => showError(errorMessage(event)));
    session.transport.on('connection_change', (state) => {
      if (state === 'disconnected') {
        showStatus('Disconnected');
        showConnected(false);
      }
    });
    // `url` is the calls endpoint; the SDK posts the SDP offer there with the ek_ as Bearer.
    await session.connect({ apiKey: secret.value, url });
    showStatus('Connected');
    showConnected(true);
  } catch (error) {
    session?.close();
    session = null;
    showStatus(`Error: ${error instanceof Error ? error.message : 'could not connect.'}`);
  } finally {
    connectButton.disabled = false;
  }
}

function disconnect() {
  session?.close();
  session = null;
  showStatus('Disconnected');
  showConnected(false);
}

connectButton.addEventListener('click', connect);
disconnectButton.addEventListener('click', disconnect);
