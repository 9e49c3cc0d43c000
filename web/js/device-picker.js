/**
 * Fills the microphone <select> with the audio inputs and keeps it current as devices come and go.
 */
import { listMicrophones } from './microphone.js';

export class DevicePicker {
  /** @type {HTMLSelectElement} */
  #select;
  #onDeviceChange = () => void this.refresh();

  /** @param {HTMLSelectElement} select */
  constructor(select) {
    this.#select = select;
    navigator.mediaDevices?.addEventListener('devicechange', this.#onDeviceChange);
  }

  /**
   * Re-reads the device list, keeping the current choice when it still exists.
   * @param {string} [selectedId] the device in use, if known
   * @returns {Promise<void>}
   */
  async refresh(selectedId = this.#select.value) {
    const devices = await listMicrophones();
    const options = devices.map((device, index) => {
      const option = document.createElement('option');
      option.value = device.deviceId;
      // Labels stay empty until the microphone has been allowed once.
      option.textContent = device.label || `Microphone ${index + 1}`;
      return option;
    });
    if (options.length === 0) {
      const option = document.createElement('option');
      option.value = '';
      option.textContent = 'Default microphone';
      options.push(option);
    }
    this.#select.replaceChildren(...options);
    if (selectedId && devices.some((device) => device.deviceId === selectedId)) this.#select.value = selectedId;
  }
}
