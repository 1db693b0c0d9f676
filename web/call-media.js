// One call's media in this window: the microphone, the WebRTC connection to the media engine
// (one leg, docs/calls.md) and the hidden <audio> element that plays the far end.

import { api } from './api.js';
import { setSink } from './tones.js';

const GATHER_TIMEOUT_MS = 1500;

export const MEDIA_MESSAGES = {
  microphoneDenied: "TOC can't use your microphone. Allow microphone access for this site in your browser's settings, then call again.",
  microphoneMissing: 'No microphone was found. Connect one, or choose another in Audio devices, then call again.',
  microphoneBusy: "TOC couldn't open your microphone; another app may be using it. Close it, or choose another microphone in Audio devices, then call again.",
  insecure: 'This browser only lets secure (https) pages use the microphone, so TOC cannot make calls from here.',
  setupFailed: "TOC couldn't set up the call's audio in this browser. Reload the page and try again.",
};

// Media that could not be opened; the message is for the user.
export class CallMediaError extends Error {}

export function microphoneMessage(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return MEDIA_MESSAGES.microphoneDenied;
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return MEDIA_MESSAGES.microphoneMissing;
  if (name === 'NotReadableError' || name === 'AbortError') return MEDIA_MESSAGES.microphoneBusy;
  return MEDIA_MESSAGES.setupFailed;
}

// Waits for ICE gathering to finish, at most `timeoutMs`; later candidates are trickled.
function gathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

async function iceServers() {
  try {
    const result = await api('GET', 'calls/ice-servers/');
    return (result && result.ice_servers) || [];
  } catch {
    return []; // host candidates still reach an engine on the same network
  }
}

export class CallMedia {
  // `onCandidate(candidate or null)`: an ICE candidate found after the offer was taken.
  // `onFailed()`: the connection failed for good.
  constructor({ devices, audioBox, onCandidate, onFailed }) {
    this.devices = devices;
    this.audioBox = audioBox;
    this.onCandidate = onCandidate;
    this.onFailed = onFailed;
    this.pc = null;
    this.stream = null;
    this.remote = null;
    this.audio = null;
    this.muted = false;
    this.trickle = false;
    this.closed = false;
  }

  // Microphone, connection and offer: resolves with the offer's SDP, or null when
  // `isAbandoned()` turned true meanwhile (hung up, call gone); throws CallMediaError.
  async open({ muted, isAbandoned }) {
    const gone = () => {
      if (!this.closed && !isAbandoned()) return false;
      this.close();
      return true;
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof RTCPeerConnection === 'undefined') {
      throw new CallMediaError(MEDIA_MESSAGES.insecure);
    }
    try {
      this.stream = await this.devices.openMicrophone();
    } catch (error) {
      this.close();
      throw new CallMediaError(microphoneMessage(error));
    }
    if (gone()) return null;
    this.setMuted(muted);
    try {
      const servers = await iceServers();
      if (gone()) return null;
      const pc = new RTCPeerConnection({ iceServers: servers });
      this.pc = pc;
      for (const track of this.stream.getAudioTracks()) pc.addTrack(track, this.stream);
      pc.addEventListener('track', (event) => this.attachRemote(event));
      pc.addEventListener('icecandidate', (event) => this.candidate(event.candidate));
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'failed' && !this.closed) this.onFailed();
      });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHER_TIMEOUT_MS);
      if (gone()) return null;
      // From here on, new candidates are not in the SDP we send: they are trickled.
      this.trickle = true;
      return pc.localDescription.sdp;
    } catch {
      if (gone()) return null;
      this.close();
      throw new CallMediaError(MEDIA_MESSAGES.setupFailed);
    }
  }

  // The engine's answer (it holds all the engine's candidates). False if it was refused.
  async setAnswer(sdp) {
    const { pc } = this;
    if (!pc || pc.signalingState !== 'have-local-offer') return true;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      return true;
    } catch {
      return this.closed;
    }
  }

  candidate(candidate) {
    if (!this.trickle || (candidate && !candidate.candidate)) return;
    this.onCandidate(candidate
      ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
      : null);
  }

  attachRemote(event) {
    const stream = event.streams && event.streams[0] ? event.streams[0] : new MediaStream([event.track]);
    this.remote = stream;
    if (!this.audio) {
      // Chrome only delivers remote WebRTC audio (to the speaker or to WebAudio) while a
      // media element plays the stream.
      this.audio = document.createElement('audio');
      this.audio.autoplay = true;
      this.audioBox.append(this.audio);
      setSink(this.audio, this.devices.choice('speaker'));
    }
    this.audio.srcObject = stream;
    this.audio.play().catch(() => {});
  }

  setMuted(muted) {
    this.muted = muted;
    if (this.stream) this.stream.getAudioTracks().forEach((track) => { track.enabled = !muted; });
  }

  setSpeaker(deviceId) {
    if (this.audio) setSink(this.audio, deviceId);
  }

  // Moves the call to the microphone now chosen, without renegotiating. Throws CallMediaError.
  async replaceMicrophone() {
    let stream;
    try {
      stream = await this.devices.openMicrophone();
    } catch (error) {
      throw new CallMediaError(microphoneMessage(error));
    }
    const sender = this.pc && this.pc.getSenders().find((candidate) => candidate.track && candidate.track.kind === 'audio');
    if (this.closed || !sender) {
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    const [track] = stream.getAudioTracks();
    track.enabled = !this.muted;
    await sender.replaceTrack(track);
    this.stream.getTracks().forEach((old) => old.stop());
    this.stream = stream;
  }

  close() {
    this.closed = true;
    this.trickle = false;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    if (this.pc) this.pc.close();
    if (this.audio) {
      this.audio.srcObject = null;
      this.audio.remove();
    }
    this.stream = null;
    this.pc = null;
    this.audio = null;
    this.remote = null;
  }
}
