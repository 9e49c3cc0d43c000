/**
 * Plays the assistant's audio and owns the page's one AudioContext.
 *
 * Browsers only start audio from a user gesture, so `unlock()` must be called synchronously inside
 * the click that starts the call. If playback is still refused, `blocked` is dispatched and the
 * page offers an "Enable sound" button that calls `unlock()` again.
 */
export class AudioOutput extends EventTarget {
  /** @type {HTMLAudioElement} */
  #element;
  /** @type {AudioContext | null} */
  #context = null;
  #blocked = false;

  /** @param {HTMLAudioElement} element where the remote stream plays */
  constructor(element) {
    super();
    this.#element = element;
  }

  /** @returns {AudioContext} created on first use, shared by the level meters */
  get context() {
    this.#context ??= new AudioContext({ latencyHint: 'interactive' });
    return this.#context;
  }

  /**
   * Call inside a user gesture: resumes the AudioContext and (re)starts the audio element.
   * @returns {Promise<void>}
   */
  async unlock() {
    const resumed = this.context.state === 'suspended' ? this.context.resume() : Promise.resolve();
    const played = this.#element.srcObject ? this.#element.play() : Promise.resolve();
    try {
      await Promise.all([resumed, played]);
      this.#setBlocked(false);
    } catch (error) {
      this.#handlePlayError(error);
    }
  }

  /**
   * Plays a stream, or stops playback with null.
   * @param {MediaStream | null} stream
   */
  attach(stream) {
    if (this.#element.srcObject === stream) return;
    this.#element.srcObject = stream;
    if (stream) {
      this.#element.play().then(() => this.#setBlocked(false), (error) => this.#handlePlayError(error));
    } else {
      this.#element.pause();
      this.#setBlocked(false);
    }
  }

  /** Stops playback and closes the audio graph. */
  async close() {
    this.attach(null);
    const context = this.#context;
    this.#context = null;
    if (context && context.state !== 'closed') await context.close();
  }

  /** @param {unknown} error */
  #handlePlayError(error) {
    // AbortError only means a newer srcObject replaced this one; that is not a refusal.
    if (error instanceof DOMException && error.name === 'NotAllowedError') this.#setBlocked(true);
  }

  /** @param {boolean} blocked */
  #setBlocked(blocked) {
    if (blocked === this.#blocked) return;
    this.#blocked = blocked;
    this.dispatchEvent(new Event(blocked ? 'blocked' : 'unblocked'));
  }
}
