/**
 * The benchmark's floor: what no page can beat without skipping a step of WebRTC. The client secret
 * is minted when the page loads, before the click; the click then does only what must follow it
 * (the microphone, the peer connection, the offer, all at once) and posts the offer without waiting
 * for ICE gathering. Marks are named like the product's; `window.__referencePc` like the reference's.
 */
const button = /** @type {HTMLButtonElement} */ (document.getElementById('connect'));
const statusText = /** @type {HTMLElement} */ (document.getElementById('status'));
const audio = /** @type {HTMLAudioElement} */ (document.getElementById('remote'));
const config = await (await fetch('/config.json')).json();
const secret = await (
  await fetch(config.sessionUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
).json();
performance.mark('floor:secret-ready');

async function start() {
  statusText.textContent = 'connecting';
  const pc = new RTCPeerConnection();
  window.__referencePc = pc;
  pc.ontrack = (event) => {
    audio.srcObject = event.streams[0];
  };
  const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
  const dc = pc.createDataChannel('oai-events');
  dc.addEventListener('open', () => performance.mark('floor:channel-open'));
  const microphone = navigator.mediaDevices.getUserMedia({ audio: true });
  await pc.setLocalDescription(await pc.createOffer());
  await transceiver.sender.replaceTrack((await microphone).getTracks()[0]);
  const response = await fetch(config.realtimeCallsUrl, {
    method: 'POST',
    body: /** @type {RTCSessionDescription} */ (pc.localDescription).sdp,
    headers: { Authorization: `Bearer ${secret.value}`, 'Content-Type': 'application/sdp' },
  });
  const answer = await response.text();
  performance.mark('floor:answer');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
}

button.addEventListener('click', () => {
  start().catch((error) => {
    statusText.textContent = `failed: ${error.message}`;
  });
});
button.disabled = false;
