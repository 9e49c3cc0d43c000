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
  #onMessage = (/** @type {MessageEvent} */ message) => {
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
  };

  #onOpen = () => this.dispatchEvent(new Event('open'));
  #onClose = () => this.dispatchEvent(new Event('close'));

  /** @param {RTCDataChannel} channel */
  constructor(channel) {
    super();
    this.#channel = channel;
    channel.addEventListener('message', this.#onMessage);
    channel.addEventListener('open', this.#onOpen);
    channel.addEventListener('close', this.#onClose);
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

  /** Detaches listeners and closes the channel. */
  close() {
    this.#channel.removeEventListener('message', this.#onMessage);
    this.#channel.removeEventListener('open', this.#onOpen);
    this.#channel.removeEventListener('close', this.#onClose);
    this.#channel.close();
  }
}
