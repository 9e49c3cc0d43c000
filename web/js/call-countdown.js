/**
 * The last minute of a relayed call: "This call ends in 0:42", visible and updated every second, and
 * told to screen readers only now and then (when it appears, at 30 and at 10 seconds), since a live
 * region that changed every second would talk over the conversation.
 *
 * The clock element has role="timer" (not announced by itself, readable on demand); the announcer is
 * a separate polite live region that stays in the page, so its first message is not lost.
 */

/** The countdown shows in the last this many milliseconds of a call. */
const SHOW_WITHIN_MS = 60_000;
/** Remaining seconds at which the announcer speaks again after the countdown appeared. */
const ANNOUNCE_AT_SECONDS = [30, 10];

export class CallCountdown {
  /** @type {number | null} */
  #deadline = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** @type {number} the remaining seconds last announced, Infinity before the first */
  #announced = Infinity;

  /**
   * @param {object} elements
   * @param {HTMLElement} elements.clock      the visible countdown; hidden outside a call's last minute
   * @param {HTMLElement} elements.announcer  an aria-live="polite" region
   */
  constructor({ clock, announcer }) {
    this.clock = clock;
    this.announcer = announcer;
  }

  /**
   * Counts down to `deadline`, or stops and hides when null.
   * @param {number | null} deadline  epoch ms
   */
  set(deadline) {
    if (deadline === this.#deadline) return;
    clearTimeout(this.#timer);
    this.#deadline = deadline;
    this.#announced = Infinity;
    this.announcer.textContent = '';
    this.#tick();
  }

  #tick() {
    const deadline = this.#deadline;
    if (deadline === null) {
      this.clock.hidden = true;
      this.clock.textContent = '';
      return;
    }
    const remainingMs = deadline - Date.now();
    if (remainingMs > SHOW_WITHIN_MS) {
      this.clock.hidden = true;
      this.#timer = setTimeout(() => this.#tick(), remainingMs - SHOW_WITHIN_MS);
      return;
    }
    const seconds = Math.max(0, Math.ceil(remainingMs / 1000));
    const text = seconds > 0 ? `This call ends in ${formatSeconds(seconds)}` : 'This call is ending now';
    this.clock.textContent = text;
    this.clock.hidden = false;
    const due = this.#announced === Infinity || ANNOUNCE_AT_SECONDS.some((at) => seconds <= at && this.#announced > at);
    if (due) {
      this.#announced = seconds;
      this.announcer.textContent = `${text}.`;
    }
    if (seconds > 0) this.#timer = setTimeout(() => this.#tick(), remainingMs - (seconds - 1) * 1000);
  }
}

/**
 * @param {number} seconds
 * @returns {string} m:ss
 */
function formatSeconds(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
