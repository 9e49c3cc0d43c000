/**
 * A live audio level for a MediaStream, drawn into a <meter> element.
 *
 * The analyser is not connected to the destination: the meter listens, it never plays, so the
 * assistant is not heard twice and the user never hears themselves.
 */

/** Speech RMS rarely exceeds ~0.3 of full scale; scaling makes normal speech fill the meter. */
const RMS_GAIN = 3;
/** Falling slowly reads as a level; jumping to zero between syllables reads as flicker. */
const DECAY = 0.85;

export class LevelMeter {
  /** @type {HTMLMeterElement} */
  #element;
  /** @type {{source: MediaStreamAudioSourceNode, analyser: AnalyserNode} | null} */
  #graph = null;
  /** @type {Float32Array<ArrayBuffer> | null} */
  #samples = null;
  #frame = 0;
  #level = 0;

  /** @param {HTMLMeterElement} element */
  constructor(element) {
    this.#element = element;
  }

  /**
   * Starts metering a stream (replacing the previous one), or stops with null.
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
    this.#graph = { source, analyser };
    this.#samples = new Float32Array(analyser.fftSize);
    this.#frame = requestAnimationFrame(this.#draw);
  }

  /** Disconnects the audio nodes, stops drawing and shows silence. */
  stop() {
    cancelAnimationFrame(this.#frame);
    if (this.#graph) {
      this.#graph.source.disconnect();
      this.#graph.analyser.disconnect();
      this.#graph = null;
    }
    this.#level = 0;
    this.#element.value = 0;
  }

  #draw = () => {
    if (!this.#graph || !this.#samples) return;
    this.#graph.analyser.getFloatTimeDomainData(this.#samples);
    let sum = 0;
    for (const sample of this.#samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.#samples.length);
    this.#level = Math.max(Math.min(1, rms * RMS_GAIN), this.#level * DECAY);
    this.#element.value = this.#level;
    this.#frame = requestAnimationFrame(this.#draw);
  };
}
