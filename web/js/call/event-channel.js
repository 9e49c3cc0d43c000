/**
 * The `oai-events` data channel: JSON in, JSON out.
 *
 * Incoming messages are parsed and re-dispatched as `serverevent` (detail: the event object);
 * anything that is not a JSON object with a string `type` is dropped, since the page cannot act on it.
 * `open` is re-dispatched; `close` only when the channel closed without `close()` being called here.
 */

/** The label every official client uses; the server opens its events on this channel. */
export const EVENT_CHANNEL_LABEL = 'oai-events';

export class EventChannel extends EventTarget {
  /** @type {RTCDataChannel} */
  #channel;
  #eventCounter = 0;
  /** Removes every listener this object put on the channel, in one go. */
  #listeners = new AbortController();

  /** @param {RTCDataChannel} channel */
  constructor(channel) {
    super();
    this.#channel = channel;
    const { signal } = this.#listeners;
    channel.addEventListener('message', (message) => this.#onMessage(message), { signal });
    channel.addEventListener('open', () => this.dispatchEvent(new Event('open')), { signal });
    channel.addEventListener('close', () => this.dispatchEvent(new Event('close')), { signal });
  }

  /** @returns {boolean} */
  get isOpen() {
    return this.#channel.readyState === 'open';
  }

  /**
   * Sends one client event, adding an `event_id` so server errors can point back at it.
   * @param {{type: string} & Record<string, unknown>} event
   * @returns {boolean} false if the channel is not open (the event is dropped)
   */
  send(event) {
    if (!this.isOpen) return false;
    this.#eventCounter += 1;
    this.#channel.send(JSON.stringify({ event_id: `evt_page_${this.#eventCounter}`, ...event }));
    return true;
  }

  /** Detaches listeners and closes the channel: our own close is never reported as `close`. */
  close() {
    this.#listeners.abort();
    this.#channel.close();
  }

  /** @param {MessageEvent} message */
  #onMessage(message) {
    if (typeof message.data !== 'string') return;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event && typeof event === 'object' && typeof event.type === 'string') {
      this.dispatchEvent(new CustomEvent('serverevent', { detail: event }));
    }
  }
}
