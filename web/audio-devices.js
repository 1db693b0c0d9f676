// Audio devices (the headset button in the Phone view): which microphone, speaker and ringer
// the softphone uses. Choices live in this browser's localStorage (device ids are per browser)
// and apply at once: listeners move live calls and the ringtone to the new device.

import { h, showError } from './dom.js';

const KINDS = ['microphone', 'speaker', 'ringer'];
const STORAGE_PREFIX = 'toc.audio.';
const FALLBACK_LABELS = { microphone: 'Microphone', speaker: 'Speaker', ringer: 'Speaker' };

export const canChooseOutput = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

function stored(kind) {
  try {
    return window.localStorage.getItem(STORAGE_PREFIX + kind) || '';
  } catch {
    return '';
  }
}

export class AudioDevices {
  constructor({ ringer = null } = {}) {
    this.ringer = ringer;
    this.listeners = [];
    this.choices = Object.fromEntries(KINDS.map((kind) => [kind, stored(kind)]));
    this.dialog = document.getElementById('audio-dialog');
    this.selects = Object.fromEntries(KINDS.map((kind) => [kind, document.getElementById(`audio-${kind}`)]));
    this.permission = document.getElementById('audio-permission');
    this.error = document.getElementById('audio-error');
    for (const kind of KINDS) {
      this.selects[kind].addEventListener('change', () => this.choose(kind, this.selects[kind].value));
    }
    document.getElementById('audio-allow').addEventListener('click', () => this.askPermission());
    document.getElementById('audio-test-ringer').addEventListener('click', () => this.ringer && this.ringer.test());
    if (!canChooseOutput) {
      this.selects.speaker.disabled = true;
      this.selects.ringer.disabled = true;
      document.getElementById('audio-output-note').hidden = false;
    }
    if (navigator.mediaDevices) {
      navigator.mediaDevices.addEventListener('devicechange', () => { if (this.dialog.open) this.fill(); });
    }
  }

  // The saved device id for 'microphone', 'speaker' or 'ringer'; '' is the system default.
  choice(kind) {
    return this.choices[kind];
  }

  // A stream from the chosen microphone, or from the default one when the chosen one is gone.
  // The browser's echo cancellation, noise suppression and gain control stay on (its
  // defaults). Chrome ignores an `ideal` deviceId, hence `exact` and a second try.
  async openMicrophone() {
    const id = this.choices.microphone;
    if (!id) return navigator.mediaDevices.getUserMedia({ audio: true });
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: id } } });
    } catch (error) {
      if (error.name !== 'OverconstrainedError' && error.name !== 'NotFoundError') throw error;
      return navigator.mediaDevices.getUserMedia({ audio: true });
    }
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  choose(kind, id) {
    if (this.choices[kind] === id) return;
    this.choices[kind] = id;
    try {
      window.localStorage.setItem(STORAGE_PREFIX + kind, id);
    } catch {
      // Private windows may refuse storage; the choice still holds until the page closes.
    }
    for (const listener of this.listeners) listener(kind, id);
  }

  async open() {
    showError(this.error, '');
    this.dialog.showModal();
    await this.fill();
  }

  async fill() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
      showError(this.error, 'This browser does not let TOC list your audio devices.');
      return;
    }
    const devices = await navigator.mediaDevices.enumerateDevices();
    const inputs = devices.filter((device) => device.kind === 'audioinput' && device.deviceId !== 'default');
    const outputs = devices.filter((device) => device.kind === 'audiooutput' && device.deviceId !== 'default');
    // Browsers hide device names (and often the devices) until the site may use the microphone.
    this.permission.hidden = devices.some((device) => device.label);
    this.options('microphone', inputs);
    this.options('speaker', outputs);
    this.options('ringer', outputs);
  }

  options(kind, devices) {
    const select = this.selects[kind];
    const chosen = this.choices[kind];
    const known = devices.some((device) => device.deviceId === chosen);
    const options = [
      h('option', { value: '' }, 'System default'),
      ...devices.map((device, index) => h('option', { value: device.deviceId }, device.label || `${FALLBACK_LABELS[kind]} ${index + 1}`)),
    ];
    if (chosen && !known) options.push(h('option', { value: chosen }, 'A device that is not connected'));
    select.replaceChildren(...options);
    select.value = chosen;
  }

  async askPermission() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      stream.getTracks().forEach((track) => track.stop());
      showError(this.error, '');
    } catch {
      showError(this.error, 'Your browser did not allow access. Allow microphone access for this site in its settings.');
    }
    await this.fill();
  }
}
