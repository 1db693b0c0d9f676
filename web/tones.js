// What the softphone plays locally: the ringtone (or the quieter call-waiting beeps while the
// user is already in a call) on the chosen ringer/speaker, and keypad tones.

const WAITING_EVERY_MS = 5000;
const KEY_TONE_SECONDS = 0.12;
const TEST_RING_MS = 2200;
// The DTMF pairs (low, high Hz), so the keypad sounds like a phone's.
const DTMF = {
  1: [697, 1209], 2: [697, 1336], 3: [697, 1477],
  4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
  7: [852, 1209], 8: [852, 1336], 9: [852, 1477],
  '*': [941, 1209], 0: [941, 1336], '#': [941, 1477],
};

export async function setSink(element, deviceId) {
  if (typeof element.setSinkId !== 'function' || element.sinkId === (deviceId || '')) return;
  try {
    await element.setSinkId(deviceId || '');
  } catch {
    // A device unplugged since it was chosen: the default one plays instead.
    if (deviceId) await element.setSinkId('').catch(() => {});
  }
}

export class Ringer {
  constructor({ ringtoneUrl, waitingUrl, devices }) {
    this.devices = devices;
    this.ringtone = new Audio(ringtoneUrl);
    this.ringtone.loop = true;
    this.ringtone.preload = 'auto';
    this.waiting = new Audio(waitingUrl);
    this.waiting.preload = 'auto';
    this.mode = null;
    this.waitingTimer = null;
    this.testTimer = null;
    devices.onChange(() => this.applyDevices());
    this.applyDevices();
  }

  applyDevices() {
    setSink(this.ringtone, this.devices.choice('ringer'));
    setSink(this.waiting, this.devices.choice('speaker'));
  }

  // 'ring' (loud, looped), 'waiting' (two beeps every few seconds), 'test' (one ring) or null.
  set(mode) {
    if (mode === this.mode) return;
    this.stop();
    this.mode = mode;
    if (mode === 'ring' || mode === 'test') {
      this.ringtone.currentTime = 0;
      // Before the user has touched the page the browser may refuse to play; the toast still shows.
      this.ringtone.play().catch(() => {});
      if (mode === 'test') this.testTimer = setTimeout(() => this.stop(), TEST_RING_MS);
    } else if (mode === 'waiting') {
      const beep = () => {
        this.waiting.currentTime = 0;
        this.waiting.play().catch(() => {});
      };
      beep();
      this.waitingTimer = setInterval(beep, WAITING_EVERY_MS);
    }
  }

  stop() {
    this.mode = null;
    clearTimeout(this.testTimer);
    clearInterval(this.waitingTimer);
    this.ringtone.pause();
    this.waiting.pause();
  }

  // One ring on the ringer device, from the Audio devices dialog (never over a real call's).
  test() {
    if (this.mode === null) this.set('test');
  }
}

let context = null;

// A short keypad tone on the speaker device (AudioContext.setSinkId where the browser has it).
export function playKeyTone(key, speakerId) {
  const pair = DTMF[key];
  if (!pair || typeof AudioContext === 'undefined') return;
  context = context || new AudioContext();
  if (typeof context.setSinkId === 'function' && context.sinkId !== (speakerId || '')) {
    context.setSinkId(speakerId || '').catch(() => {});
  }
  context.resume().catch(() => {});
  const start = context.currentTime;
  const gain = context.createGain();
  gain.gain.setValueAtTime(0.05, start);
  gain.gain.linearRampToValueAtTime(0, start + KEY_TONE_SECONDS);
  gain.connect(context.destination);
  for (const frequency of pair) {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    oscillator.start(start);
    oscillator.stop(start + KEY_TONE_SECONDS);
  }
}
