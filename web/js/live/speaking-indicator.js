/**
 * Whether the assistant is speaking, heard from its audio: GPT-Live sends no event when speech
 * starts or ends (its transcripts are timed text, not playback), so an AnalyserNode on the remote
 * track decides. The label beside the assistant's level meter says "Assistant (speaking)" meanwhile,
 * as the microphone's says "You (muted)".
 *
 * The analyser is not connected to the destination: it listens, it never plays.
 */

/** RMS of full scale above which the remote audio counts as speech (its silence is digital zero). */
const SPEECH_RMS = 0.01;
/** Speech pauses between words: the indicator stays on this long after the level drops. */
const HOLD_MS = 500;
/** Read on a timer, not per frame: a hidden tab still keeps the state right. */
const POLL_MS = 100;

export class SpeakingIndicator extends EventTarget {
  /** @type {HTMLElement} */
  #label;
  #name;
  /** @type {{source: MediaStreamAudioSourceNode, analyser: AnalyserNode, timer: ReturnType<typeof setInterval>} | null} */
  #graph = null;
  #speaking = false;
  #heardAt = -Infinity;

  /** @param {HTMLElement} label  the assistant's name beside its level meter */
  constructor(label) {
    super();
    this.#label = label;
    this.#name = label.textContent ?? '';
  }

  /** @returns {boolean} */
  get speaking() {
    return this.#speaking;
  }

  /**
   * Starts listening to a stream (replacing the previous one), or stops with null.
   * @param {AudioContext} context
   * @param {MediaStream | null} stream
   */
  listen(context, stream) {
    this.stop();
    if (!stream || stream.getAudioTracks().length === 0) return;
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const now = performance.now();
      if (Math.sqrt(sum / samples.length) >= SPEECH_RMS) this.#heardAt = now;
      this.#set(now - this.#heardAt < HOLD_MS);
    }, POLL_MS);
    this.#graph = { source, analyser, timer };
  }

  /** Disconnects the audio nodes and says nobody is speaking. */
  stop() {
    if (this.#graph) {
      clearInterval(this.#graph.timer);
      this.#graph.source.disconnect();
      this.#graph.analyser.disconnect();
      this.#graph = null;
    }
    this.#heardAt = -Infinity;
    this.#set(false);
  }

  /** @param {boolean} speaking */
  #set(speaking) {
    if (speaking === this.#speaking) return;
    this.#speaking = speaking;
    this.#label.textContent = speaking ? `${this.#name} (speaking)` : this.#name;
    this.dispatchEvent(new CustomEvent('change', { detail: { speaking } }));
  }
}
