/**
 * The benchmark's baseline: the connection flow of the popular Realtime WebRTC tutorials
 * (OpenAI's realtime-webrtc guide and the blog posts derived from it), step after step:
 * fetch the token, THEN create the peer connection, THEN getUserMedia, THEN the offer, THEN
 * (with ?wait-ice, as many tutorials do) wait for ICE gathering to complete, THEN post the SDP.
 *
 * Exposes `window.__referencePc` so the benchmark reads the same stats on both pages, and
 * performance marks named like the product's.
 */
const button = /** @type {HTMLButtonElement} */ (document.getElementById('connect'));
const statusText = /** @type {HTMLElement} */ (document.getElementById('status'));
const audio = /** @type {HTMLAudioElement} */ (document.getElementById('remote'));
const waitForIce = new URLSearchParams(location.search).has('wait-ice');
const config = await (await fetch('/config.json')).json();

/** @returns {Promise<void>} */
function iceGatheringComplete(/** @type {RTCPeerConnection} */ pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
}

async function start() {
  statusText.textContent = 'connecting';
  const tokenResponse = await fetch(config.sessionUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  const data = await tokenResponse.json();
  const ephemeralKey = data.value;
  performance.mark('reference:secret-ready');

  const pc = new RTCPeerConnection();
  window.__referencePc = pc;
  pc.ontrack = (event) => {
    audio.srcObject = event.streams[0];
  };
  const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
  pc.addTrack(microphone.getTracks()[0]);

  const dc = pc.createDataChannel('oai-events');
  dc.addEventListener('open', () => performance.mark('reference:channel-open'));
  dc.addEventListener('message', (event) => {
    if (JSON.parse(event.data).type === 'session.created') statusText.textContent = 'connected';
  });

  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (waitForIce) await iceGatheringComplete(pc);

  const sdpResponse = await fetch(config.realtimeCallsUrl, {
    method: 'POST',
    body: /** @type {RTCSessionDescription} */ (pc.localDescription).sdp,
    headers: { Authorization: `Bearer ${ephemeralKey}`, 'Content-Type': 'application/sdp' },
  });
  const answer = await sdpResponse.text();
  performance.mark('reference:answer');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
}

button.addEventListener('click', () => {
  start().catch((error) => {
    statusText.textContent = `failed: ${error.message}`;
  });
});
button.disabled = false;
