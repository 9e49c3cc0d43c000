/**
 * The microphone: opens it, mutes it, switches device, and stops only the tracks it opened.
 *
 * Ownership: the MediaStream returned by getUserMedia belongs to this object. The call sends its
 * track but never stops it; `stop()` here is the one place it ends.
 */
import { UserFacingError } from './user-facing-error.js';

/** Voice-friendly processing; the browser's defaults, stated so a device switch keeps them. */
const AUDIO_PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Wraps one microphone track at a time. Dispatches `trackchange` (detail: {track}) when the
 * track is replaced by a device switch, and `ended` if the device goes away (unplugged, or taken
 * by the system); `replaceLostTrack()` then moves to another device if there is one.
 */
export class Microphone extends EventTarget {
  /** @type {MediaStream | null} */
  #stream = null;
  /** Detaches the current stream's `ended` listener, so our own stop is not reported as a loss. */
  #streamListeners = new AbortController();
  #muted = false;
  /** @type {string | undefined} */
  #deviceId;
  /** Bumped by stop(), so an open() still in flight knows its stream is no longer wanted. */
  #epoch = 0;

  /** @returns {MediaStreamTrack | null} the live audio track, if open */
  get track() {
    return this.#stream?.getAudioTracks()[0] ?? null;
  }

  /** @returns {MediaStream | null} */
  get stream() {
    return this.#stream;
  }

  /** @returns {boolean} */
  get muted() {
    return this.#muted;
  }

  /** @returns {string | undefined} the device id of the open track */
  get deviceId() {
    return this.track?.getSettings().deviceId ?? this.#deviceId;
  }

  /**
   * Opens the microphone if it is not open yet (idempotent).
   * @param {string} [deviceId] a preferred input device
   * @returns {Promise<MediaStreamTrack>}
   * @throws {UserFacingError} when access is denied or there is no microphone
   */
  async open(deviceId) {
    if (this.track?.readyState === 'live') return this.track;
    this.#deviceId = deviceId;
    const epoch = this.#epoch;
    const stream = await requestStream(deviceId);
    this.#adoptUnlessStopped(stream, epoch);
    return /** @type {MediaStreamTrack} */ (this.track);
  }

  /**
   * After `ended`: opens another input device, so a call can carry on without the lost one.
   * Devices are tried in the browser's order, the lost one left out.
   * @returns {Promise<{track: MediaStreamTrack, label: string}>}
   * @throws {UserFacingError} `microphone_lost` when no other device can be opened
   */
  async replaceLostTrack() {
    const lostId = this.deviceId;
    this.#release();
    const epoch = this.#epoch;
    const candidates = (await listMicrophones()).filter((device) => device.deviceId && device.deviceId !== lostId);
    for (const device of candidates) {
      let stream;
      try {
        stream = await requestStream(device.deviceId);
      } catch {
        continue; // gone too, or busy: try the next one
      }
      this.#adoptUnlessStopped(stream, epoch);
      this.#deviceId = device.deviceId;
      this.dispatchEvent(new CustomEvent('trackchange', { detail: { track: this.track } }));
      return { track: /** @type {MediaStreamTrack} */ (this.track), label: device.label };
    }
    throw new UserFacingError(
      'The microphone was disconnected and no other microphone was found. Plug one in, then connect again.',
      { code: 'microphone_lost' },
    );
  }

  /**
   * Switches to another input device. The new track replaces the old one; the old one is stopped
   * only after the new one is live, so a failed switch leaves the call on the old device.
   * @param {string} deviceId
   * @returns {Promise<MediaStreamTrack>}
   */
  async switchDevice(deviceId) {
    this.#deviceId = deviceId;
    if (!this.#stream) return this.open(deviceId);
    const next = await requestStream(deviceId);
    this.#release();
    this.#adopt(next);
    this.dispatchEvent(new CustomEvent('trackchange', { detail: { track: this.track } }));
    return /** @type {MediaStreamTrack} */ (this.track);
  }

  /**
   * Mutes by disabling the track: the sender then transmits silence, with no renegotiation.
   * @param {boolean} muted
   */
  setMuted(muted) {
    this.#muted = muted;
    const track = this.track;
    if (track) track.enabled = !muted;
  }

  /** Stops the tracks this object opened and forgets them. */
  stop() {
    this.#epoch += 1;
    this.#release();
  }

  /** Stops the current stream's tracks, quietly: listeners go first. */
  #release() {
    this.#streamListeners.abort();
    if (this.#stream) stopStream(this.#stream);
    this.#stream = null;
  }

  /**
   * @param {MediaStream} stream
   * @param {number} epoch  the value of #epoch when the stream was requested
   */
  #adoptUnlessStopped(stream, epoch) {
    if (epoch !== this.#epoch) {
      // stop() was called while the browser was still opening the device: release it at once.
      stopStream(stream);
      throw new DOMException('The microphone was closed while opening.', 'AbortError');
    }
    this.#adopt(stream);
  }

  /** @param {MediaStream} stream */
  #adopt(stream) {
    this.#stream = stream;
    this.#streamListeners = new AbortController();
    const track = stream.getAudioTracks()[0];
    track.enabled = !this.#muted;
    track.addEventListener('ended', () => this.dispatchEvent(new Event('ended')), {
      signal: this.#streamListeners.signal,
    });
  }
}

/**
 * Lists the audio input devices. Labels are empty until the user has granted access once.
 * @returns {Promise<MediaDeviceInfo[]>}
 */
export async function listMicrophones() {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((device) => device.kind === 'audioinput');
}

/**
 * @param {string | undefined} deviceId
 * @returns {Promise<MediaStream>}
 */
async function requestStream(deviceId) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new UserFacingError('This browser cannot use a microphone here. Open the page over HTTPS in a current browser.', {
      code: 'microphone_unsupported',
    });
  }
  const audio = deviceId ? { ...AUDIO_PROCESSING, deviceId: { exact: deviceId } } : AUDIO_PROCESSING;
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: false });
  } catch (error) {
    throw microphoneError(error);
  }
}

/**
 * @param {unknown} error a DOMException from getUserMedia
 * @returns {UserFacingError}
 */
function microphoneError(error) {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return new UserFacingError(
      'Microphone access was denied. Allow the microphone for this site in your browser settings, then connect again.',
      { code: 'microphone_denied', cause: error },
    );
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new UserFacingError('No microphone was found. Plug one in or choose another input, then connect again.', {
      code: 'microphone_missing',
      cause: error,
    });
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return new UserFacingError('The microphone is busy in another app. Close that app, then connect again.', {
      code: 'microphone_busy',
      cause: error,
    });
  }
  return new UserFacingError('The microphone could not be opened. Check it, then connect again.', {
    code: 'microphone_error',
    cause: error,
  });
}

/** @param {MediaStream} stream */
function stopStream(stream) {
  for (const track of stream.getTracks()) track.stop();
}
