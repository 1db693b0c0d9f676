// The softphone: the calls of this window, over the event socket's call signalling and one
// WebRTC connection per call to the media engine (docs/calls.md is the contract).
//
// Each call the window knows is a session in one phase:
//   placing    we are dialling; the call has no id until `call.placed`
//   ringing    an incoming call rings here (the toast)
//   answering  Answer was pressed; the media is being set up until `call.accepted`
//   live       the call's media is in this window (ringing out, or answered)
//   hanging_up Hang up was pressed, the server has not confirmed yet
//   ended      over; the window shows why for a few seconds
//   failed     never connected (microphone, device, refusal); the window stays until closed
//   foreign    the user's call lives on another tab or device ("On another device")
//   switching  Switch Device sent the call here: it rings until answered (or dismissed)
//
// Call handling (hold, transfer, park, switch device, add people) is a request about a call;
// what it did comes back as `call.updated`, newest `version` wins. A call the user left
// (transferred, parked) arrives as "ended" with how they left it.

import { api } from './api.js';
import { CallMedia, CallMediaError, MEDIA_MESSAGES } from './call-media.js';
import { CallNotifications } from './call-notifications.js';
import { CallWindows } from './call-window.js';
import { playKeyTone } from './tones.js';

const ENDED_LINGER_MS = 4000;
const LAST_DIALLED_KEY = 'toc.phone.last-dialled';
const LIVE_PHASES = new Set(['placing', 'answering', 'live', 'hanging_up']);

export const MESSAGES = {
  ...MEDIA_MESSAGES,
  notSoftphone: "Calls from your desk phone or mobile aren't available yet. Switch the calling device to Softphone.",
  audioFailed: "The call's audio connection failed.",
  holdNeedsSoftphone: 'Hold works only when Softphone is the calling device.',
};

// What may be dialled: digits, *, # and one leading + (paste "+1 (613) 555-0142" and get
// "+16135550142").
export function cleanNumber(text) {
  const kept = String(text || '').replace(/[^0-9*#+]/g, '');
  return kept.charAt(0) + kept.slice(1).replace(/\+/g, '');
}

export function lastDialled() {
  try {
    return window.localStorage.getItem(LAST_DIALLED_KEY) || '';
  } catch {
    return '';
  }
}

class CallSession {
  constructor(key, { direction, phase, call = null, counterpart = null }) {
    this.key = key;
    this.direction = direction;
    this.phase = phase;
    this.call = call;
    this.id = call ? call.id : null;
    this.counterpart = counterpart || (call ? call.counterpart : { name: '', number: '' });
    this.legId = null;
    this.media = null;
    this.iceQueue = [];
    this.muted = false;
    this.waiting = false;
    this.error = '';
    this.endMessage = '';
    this.endOverride = '';
    this.requesting = false;
    this.hangupRequested = false;
    this.lingerTimer = null;
  }
}

export class Softphone {
  constructor({ socket, devices, ringer, getMe, onDialled = () => {} }) {
    this.socket = socket;
    this.devices = devices;
    this.ringer = ringer;
    this.notifications = new CallNotifications();
    this.getMe = getMe;
    this.onDialled = onDialled;
    this.sessions = new Map();
    this.nextKey = 1;
    this.placing = 0;
    // Events about a call this window is placing can beat the `call.placed` reply.
    this.early = new Map();
    this.audioBox = document.getElementById('call-audio');
    this.windows = new CallWindows({
      container: document.getElementById('call-windows'),
      actions: {
        answer: (session) => this.answer(session),
        decline: (session) => this.decline(session),
        hangUp: (session) => this.hangUp(session),
        toggleMute: (session) => this.toggleMute(session),
        dtmf: (session, key) => this.sendDtmf(session, key),
        close: (session) => this.remove(session),
        me: () => this.getMe(),
        hold: (session) => this.hold(session),
        resume: (session) => this.resume(session),
        park: (session) => this.park(session),
        take: (session) => this.take(session),
        completeTransfer: (session) => this.completeTransfer(session),
        cancelTransfer: (session) => this.cancelTransfer(session),
        listDevices: () => this.listDevices(),
        switchTo: (session, connectionId) => this.switchDevice(session, connectionId),
        muteParticipant: (session, legId, muted) => this.muteParticipant(session, legId, muted),
        removeParticipant: (session, legId) => this.removeParticipant(session, legId),
        // Dialogs and drag-and-drop live in call-handling.js, which sets `this.ui`.
        openTransfer: (session) => this.ui.openTransfer(session),
        openInvite: (session) => this.ui.openInvite(session),
        dragStart: (session, event) => this.ui.dragStart(session, event),
        dragEnd: (session) => this.ui.dragEnd(session),
        dragOverWindow: (session, event) => this.ui.dragOverWindow(session, event),
        dropOnWindow: (session, event) => this.ui.dropOnWindow(session, event),
      },
    });
    this.ui = {
      openTransfer() {}, openInvite() {}, dragStart() {}, dragEnd() {}, dragOverWindow() {}, dropOnWindow() {},
    };
    devices.onChange((kind) => this.devicesChanged(kind));
    window.addEventListener('beforeunload', () => this.hangUpAllOnUnload());
  }

  // ---- public API (also window.toc.softphone, for the e2e tests and diagnostics) ----

  // Dials `destination` from this window. `name` only labels the window until the server
  // says who the counterpart is.
  async call(destination, { name = '' } = {}) {
    const number = cleanNumber(destination);
    if (!number) return null;
    try {
      window.localStorage.setItem(LAST_DIALLED_KEY, number);
    } catch {
      // No storage (private window): Redial just has nothing to offer.
    }
    this.onDialled(number);
    const session = this.add({ direction: 'outgoing', phase: 'placing', counterpart: { name, number } });
    const me = this.getMe();
    if (me && me.calling_device && me.calling_device !== 'softphone') {
      this.fail(session, MESSAGES.notSoftphone);
      return null;
    }
    const sdp = await this.openMedia(session);
    if (sdp === null) return null;
    this.placing += 1;
    session.requesting = true;
    try {
      const reply = await this.socket.request({ type: 'call.place', destination: number, sdp });
      this.adopt(session, reply.call);
    } catch (error) {
      if (session.phase === 'placing' && !session.hangupRequested) this.fail(session, error.message);
      else this.remove(session);
    } finally {
      session.requesting = false;
      this.placing -= 1;
      this.flushEarly();
    }
    return session.id;
  }

  // answer, decline, hangUp, toggleMute and sendDtmf take a call id or a session.
  async answer(target) {
    const session = this.resolve(target);
    if (session && session.phase === 'switching') {
      await this.take(session);
      return;
    }
    if (!session || session.phase !== 'ringing') return;
    session.phase = 'answering';
    session.error = '';
    this.changed(session);
    const sdp = await this.openMedia(session, { failInPlace: true });
    if (sdp === null) return;
    try {
      const reply = await this.socket.request({ type: 'call.answer', call_id: session.id, sdp });
      if (session.phase !== 'answering') return; // hung up or ended meanwhile
      session.phase = 'live';
      this.setLeg(session, reply.call.leg_id);
      this.update(session, reply.call);
    } catch (error) {
      if (session.phase !== 'answering') return;
      // Someone answered on another device first, or the caller gave up: this window's
      // attempt is over, and what became of the call shows apart from it.
      const last = session.call;
      this.fail(session, error.message);
      session.id = null;
      this.changed(session);
      if (last && last.state !== 'ended' && error.code !== 'offline') this.applyUpdate(last);
    }
  }

  async decline(target) {
    const session = this.resolve(target);
    if (session && session.phase === 'switching') {
      this.remove(session);
      return;
    }
    if (!session || session.phase !== 'ringing') return;
    try {
      const reply = await this.socket.request({ type: 'call.decline', call_id: session.id });
      this.update(session, reply.call);
    } catch (error) {
      session.error = error.message;
      this.changed(session);
    }
  }

  async hangUp(target, message = '') {
    const session = this.resolve(target);
    if (!session) return;
    if (session.phase === 'ended' || session.phase === 'failed') {
      this.remove(session);
      return;
    }
    if (session.phase === 'foreign') {
      await this.hangUpById(session);
      return;
    }
    if (message) session.endOverride = message;
    if (!session.id) {
      // Still dialling: the place request, once answered, hangs the new call up at once.
      if (session.requesting) {
        session.hangupRequested = true;
        this.changed(session);
      } else {
        this.closeMedia(session);
        session.phase = 'hanging_up';
        this.remove(session);
      }
      return;
    }
    this.closeMedia(session);
    session.phase = 'hanging_up';
    this.changed(session);
    try {
      const reply = await this.socket.request({ type: 'call.hangup', call_id: session.id });
      this.endSession(session, reply.call.end_message);
    } catch (error) {
      // not_found / conflict: it had ended already. Otherwise the server drops the leg we no
      // longer reclaim once its reconnect grace runs out.
      this.endSession(session, ['not_found', 'conflict'].includes(error.code) ? '' : error.message);
    }
  }

  toggleMute(target) {
    const session = this.resolve(target);
    if (!session) return;
    session.muted = !session.muted;
    if (session.media) session.media.setMuted(session.muted);
    this.changed(session);
  }

  async sendDtmf(target, key) {
    const session = this.resolve(target);
    if (!session) return;
    playKeyTone(key, this.devices.choice('speaker'));
    if (!session.id || session.phase !== 'live') return;
    try {
      await this.socket.request({ type: 'call.dtmf', call_id: session.id, digits: key });
    } catch (error) {
      session.error = error.message;
      this.changed(session);
    }
  }

  // Draws every call window again (after the user's calling device changed).
  repaint() {
    for (const session of this.sessions.values()) this.changed(session);
  }

  // The answered call whose audio is in this window (the newest, with call waiting), or null:
  // while there is one, the Phone view's dial pad sends its keys to it as DTMF.
  answeredHere() {
    return [...this.sessions.values()]
      .filter((session) => session.phase === 'live' && session.call && session.call.state === 'answered')
      .pop() || null;
  }

  // The keyboard shortcuts (Alt+Shift+A / Alt+Shift+D) act on the newest ringing call.
  newestRinging() {
    return [...this.sessions.values()].filter((session) => session.phase === 'ringing').pop() || null;
  }

  // The far end's audio of a call in this window (the stream its hidden <audio> plays).
  remoteStream(callId) {
    const media = this.mediaOf(callId);
    return media ? media.remote : null;
  }

  localStream(callId) {
    const media = this.mediaOf(callId);
    return media ? media.stream : null;
  }

  peerConnection(callId) {
    const media = this.mediaOf(callId);
    return media ? media.pc : null;
  }

  mediaOf(callId) {
    const session = this.byCallId(callId);
    return session ? session.media : null;
  }

  // A snapshot of every call the window shows.
  calls() {
    return [...this.sessions.values()].map((session) => ({
      key: session.key,
      callId: session.id,
      legId: session.legId,
      direction: session.direction,
      phase: session.phase,
      state: session.call ? session.call.state : null,
      muted: session.muted,
      error: session.error,
    }));
  }

  // ---- events from the socket ----

  handleEvent(event) {
    if (event.type === 'call.updated') this.applyUpdate(event.call);
    else if (event.type === 'call.sdp') this.receiveAnswer(event);
    else if (event.type === 'call.switch_requested') this.switchRequested(event);
  }

  // ---- call handling ----

  // A request about a live call whose reply is the call as it is now; a refusal shows in
  // the call's window.
  async act(target, type, extra = {}) {
    const session = this.resolve(target);
    if (!session || !session.id) return null;
    session.error = '';
    try {
      const reply = await this.socket.request({ type, call_id: session.id, ...extra });
      // The reply may be about another call (Cancel transfer answers with the held call).
      const owner = reply.call && reply.call.id !== session.id ? this.byCallId(reply.call.id) : session;
      if (reply.call && owner) this.update(owner, reply.call);
      else this.changed(session);
      return reply;
    } catch (error) {
      if (this.sessions.has(session.key)) {
        session.error = error.message;
        this.changed(session);
      }
      return null;
    }
  }

  hold(target) {
    const me = this.getMe();
    const session = this.resolve(target);
    if (session && me && me.calling_device && me.calling_device !== 'softphone') {
      session.error = MESSAGES.holdNeedsSoftphone;
      this.changed(session);
      return null;
    }
    return this.act(target, 'call.hold');
  }

  resume(target) {
    return this.act(target, 'call.resume');
  }

  park(target) {
    return this.act(target, 'call.park');
  }

  // Blind transfer: the other side rings `destination`; this window's part is over.
  transfer(target, destination) {
    return this.act(target, 'call.transfer', { destination });
  }

  addPeople(target, destination) {
    return this.act(target, 'call.add', { destination });
  }

  completeTransfer(target) {
    return this.act(target, 'call.complete_transfer');
  }

  // Attended transfer, changed mind: the consultation ends (its own update closes its
  // window) and the held call resumes.
  cancelTransfer(target) {
    return this.act(target, 'call.cancel_transfer');
  }

  // Attended transfer, first step: the call goes on hold and a consultation call rings
  // `destination` from this window.
  consult(target, destination, { name = '' } = {}) {
    const original = this.resolve(target);
    if (!original || !original.id) return null;
    return this.placeWith({ type: 'call.consult', call_id: original.id, destination }, { name, number: destination });
  }

  // The Conference window's Join: a room (by id) or an instant conference with invitees.
  joinConference({ roomId = null, name = 'Conference', invitees = [] }) {
    return this.placeWith({ type: 'call.conference_start', room_id: roomId, invitees }, { name, number: '' });
  }

  async placeWith(message, counterpart) {
    const session = this.add({ direction: 'outgoing', phase: 'placing', counterpart });
    const sdp = await this.openMedia(session);
    if (sdp === null) return null;
    this.placing += 1;
    session.requesting = true;
    try {
      const reply = await this.socket.request({ ...message, sdp });
      this.adopt(session, reply.call);
    } catch (error) {
      if (session.phase === 'placing' && !session.hangupRequested) this.fail(session, error.message);
      else this.remove(session);
    } finally {
      session.requesting = false;
      this.placing -= 1;
      this.flushEarly();
    }
    return session.id;
  }

  // The user's signed-in devices (this one marked), for Switch Device.
  async listDevices() {
    const reply = await this.socket.request({ type: 'call.devices' });
    return reply.devices || [];
  }

  switchDevice(target, connectionId) {
    return this.act(target, 'call.switch', { connection_id: connectionId });
  }

  // Another of this user's devices sent a call here: it rings until answered or dismissed.
  switchRequested(event) {
    if (event.connection_id !== this.socket.connectionId) return;
    const existing = this.byCallId(event.call.id);
    if (existing && existing.phase !== 'foreign') return;
    if (existing) this.remove(existing);
    this.add({ direction: event.call.direction, phase: 'switching', call: event.call });
  }

  async take(target) {
    const session = this.resolve(target);
    if (!session || !session.id) return;
    session.phase = 'answering';
    session.error = '';
    this.changed(session);
    const sdp = await this.openMedia(session, { failInPlace: true });
    if (sdp === null) return;
    try {
      const reply = await this.socket.request({ type: 'call.take', call_id: session.id, sdp });
      if (session.phase !== 'answering') return;
      session.phase = 'live';
      this.setLeg(session, reply.call.leg_id);
      this.update(session, reply.call);
    } catch (error) {
      this.fail(session, error.message);
    }
  }

  muteParticipant(target, legId, muted) {
    const session = this.resolve(target);
    const conference = session && session.call && session.call.conference;
    if (!conference) return null;
    return this.act(session, 'call.conference_mute', { conference_id: conference.id, leg_id: legId, muted });
  }

  removeParticipant(target, legId) {
    const session = this.resolve(target);
    const conference = session && session.call && session.call.conference;
    if (!conference) return null;
    return this.act(session, 'call.conference_remove', { conference_id: conference.id, leg_id: legId });
  }


  // After every (re)connect: what the server says is live wins. Legs this window still holds
  // are reclaimed; calls that ended meanwhile are closed; the rest show as on another device.
  async resync() {
    let active;
    try {
      active = await api('GET', 'calls/active/');
    } catch {
      return;
    }
    const calls = Array.isArray(active) ? active : (active && active.results) || [];
    const byId = new Map(calls.map((call) => [call.id, call]));
    for (const session of [...this.sessions.values()]) {
      if (!session.id || session.phase === 'ended' || session.phase === 'failed') continue;
      const call = byId.get(session.id);
      if (!call) {
        if (session.phase === 'live' || session.phase === 'hanging_up') this.endSession(session, '');
        else if (session.phase !== 'answering') this.remove(session);
      } else if (session.phase === 'live' && session.media && session.legId && call.leg_id === session.legId) {
        this.reclaim(session);
      } else {
        this.update(session, call);
      }
    }
    for (const call of calls) if (!this.byCallId(call.id)) this.applyUpdate(call);
  }

  async reclaim(session) {
    try {
      const reply = await this.socket.request({ type: 'call.reclaim', leg_id: session.legId });
      // The engine's answer may have been on its way when the socket dropped.
      if (reply.sdp && session.media) await session.media.setAnswer(reply.sdp);
      this.update(session, reply.call);
    } catch (error) {
      if (error.code === 'offline') return;
      this.endSession(session, error.message);
    }
  }

  applyUpdate(call) {
    const session = this.byCallId(call.id) || this.byLegId(call.leg_id);
    if (session) {
      // A completed attended transfer moves this window's leg into the transferred call.
      if (session.id !== call.id) {
        session.id = call.id;
        session.call = null;
      }
      this.update(session, call);
    } else if (this.placing && call.direction === 'outgoing') {
      this.stashEarly(call.id, { call });
    } else if (call.state === 'ended') {
      // Nothing here to close.
    } else if (call.direction === 'incoming' && call.state === 'ringing') {
      this.add({ direction: 'incoming', phase: 'ringing', call });
    } else if (call.direction === 'outgoing' || call.state === 'answered') {
      this.add({ direction: call.direction, phase: 'foreign', call });
    }
  }

  update(session, call) {
    if ((session.phase === 'ended' || session.phase === 'failed') && call.state !== 'ended' && session.id === call.id) {
      // The call came back to this user (a parked call ringing back): a new window for it.
      this.remove(session);
      this.applyUpdate(call);
      return;
    }
    if (session.call && session.call.version > call.version) return;
    if (session.call && session.call.state === 'ended' && session.call.version === call.version) return;
    session.call = call;
    if (call.counterpart && (call.counterpart.name || call.counterpart.number)) session.counterpart = call.counterpart;
    if (call.state === 'ended') {
      if (session.phase === 'ringing' || session.phase === 'foreign') this.remove(session);
      else if (session.phase !== 'failed') this.endSession(session, call.end_message);
      return;
    }
    if (call.state === 'answered' && session.phase === 'ringing') {
      session.phase = 'foreign'; // answered on another tab or device
    }
    if (session.phase === 'live' && session.legId && call.leg_id && call.leg_id !== session.legId) {
      // Switch Device moved the call to another of the user's devices.
      this.closeMedia(session);
      session.legId = null;
      session.phase = 'foreign';
    }
    if (session.phase === 'switching' && call.state !== 'answered') this.remove(session);
    else this.changed(session);
  }

  receiveAnswer(event) {
    const session = this.byCallId(event.call_id);
    if (!session && this.placing) {
      this.stashEarly(event.call_id, { sdp: event.sdp });
      return;
    }
    if (session) this.setRemote(session, event.sdp);
  }

  // ---- sessions ----

  add(options) {
    const session = new CallSession(this.nextKey, options);
    this.nextKey += 1;
    this.sessions.set(session.key, session);
    this.changed(session);
    return session;
  }

  resolve(target) {
    if (target instanceof CallSession) return target;
    return this.byCallId(target);
  }

  byLegId(legId) {
    if (!legId) return null;
    for (const session of this.sessions.values()) if (session.legId === legId && session.media) return session;
    return null;
  }

  byCallId(callId) {
    if (!callId) return null;
    for (const session of this.sessions.values()) if (session.id === callId) return session;
    return null;
  }

  adopt(session, call) {
    session.id = call.id;
    session.phase = 'live';
    this.setLeg(session, call.leg_id);
    const early = this.early.get(call.id) || {};
    this.early.delete(call.id);
    this.update(session, call);
    if (early.call) this.update(session, early.call);
    if (early.sdp && session.phase === 'live') this.setRemote(session, early.sdp);
    if (session.hangupRequested && session.phase === 'live') this.hangUp(session);
  }

  stashEarly(callId, part) {
    this.early.set(callId, { ...this.early.get(callId), ...part });
  }

  flushEarly() {
    if (this.placing) return;
    const left = [...this.early.values()];
    this.early.clear();
    for (const { call } of left) if (call) this.applyUpdate(call);
  }

  setLeg(session, legId) {
    session.legId = legId || session.legId;
    if (!session.legId) return;
    for (const candidate of session.iceQueue) this.sendCandidate(session, candidate);
    session.iceQueue = [];
  }

  fail(session, message) {
    this.closeMedia(session);
    session.phase = 'failed';
    session.error = message;
    this.changed(session);
  }

  endSession(session, message) {
    this.closeMedia(session);
    if (message && !session.endMessage) session.endMessage = message;
    if (session.phase !== 'ended') {
      session.phase = 'ended';
      session.lingerTimer = setTimeout(() => this.remove(session), ENDED_LINGER_MS);
    }
    this.changed(session);
  }

  remove(session) {
    clearTimeout(session.lingerTimer);
    this.closeMedia(session);
    this.sessions.delete(session.key);
    this.windows.remove(session);
    this.updateRinger();
  }

  changed(session) {
    if (this.sessions.has(session.key)) this.windows.render(session);
    this.updateRinger();
  }

  // Loud ring for a call ringing here; only the soft call-waiting beeps when the user is
  // already in a call (on this window or another device).
  updateRinger() {
    const sessions = [...this.sessions.values()];
    const inCall = sessions.some((session) => LIVE_PHASES.has(session.phase)
      || (session.phase === 'foreign' && session.call && session.call.state === 'answered'));
    const ringing = sessions.filter((session) => session.phase === 'ringing' || session.phase === 'switching');
    for (const session of ringing) {
      if (session.waiting !== inCall) {
        session.waiting = inCall;
        this.windows.render(session);
      }
    }
    this.notifications.sync(ringing.filter((session) => session.phase === 'ringing'));
    const audible = ringing.some((session) => !session.error);
    const mode = audible ? (inCall ? 'waiting' : 'ring') : null;
    if (mode === null && this.ringer.mode === 'test') return;
    this.ringer.set(mode);
  }

  async hangUpById(session) {
    try {
      const reply = await this.socket.request({ type: 'call.hangup', call_id: session.id });
      this.update(session, reply.call);
    } catch (error) {
      session.error = error.message;
      this.changed(session);
    }
  }

  hangUpAllOnUnload() {
    for (const session of this.sessions.values()) {
      if (session.id && (session.phase === 'live' || session.phase === 'answering')) {
        this.socket.send({ type: 'call.hangup', request_id: `unload-${session.key}`, call_id: session.id });
      }
    }
  }

  // ---- media ----

  // Opens the session's media; returns the offer's SDP, or null after showing why not.
  // `failInPlace` (answering) keeps the toast up with the message, so Answer can be retried.
  async openMedia(session, { failInPlace = false } = {}) {
    const phase = session.phase;
    const media = new CallMedia({
      devices: this.devices,
      audioBox: this.audioBox,
      onCandidate: (candidate) => this.localCandidate(session, candidate),
      onFailed: () => { if (session.media === media) this.hangUp(session, MESSAGES.audioFailed); },
    });
    session.media = media;
    try {
      return await media.open({
        muted: session.muted,
        isAbandoned: () => !this.sessions.has(session.key) || session.phase !== phase || session.media !== media,
      });
    } catch (error) {
      if (session.media !== media) return null;
      this.closeMedia(session);
      const message = error instanceof CallMediaError ? error.message : MEDIA_MESSAGES.setupFailed;
      if (failInPlace && session.phase === 'answering') {
        session.phase = 'ringing';
        session.error = message;
        this.changed(session);
      } else if (session.phase === 'placing' || session.phase === 'answering') {
        this.fail(session, message);
      }
      return null;
    }
  }

  async setRemote(session, sdp) {
    const { media } = session;
    if (media && !(await media.setAnswer(sdp)) && session.media === media) this.hangUp(session, MESSAGES.audioFailed);
  }

  localCandidate(session, candidate) {
    if (session.legId) this.sendCandidate(session, candidate);
    else session.iceQueue.push(candidate);
  }

  sendCandidate(session, candidate) {
    this.socket.send({ type: 'call.ice', leg_id: session.legId, candidate });
  }

  closeMedia(session) {
    if (session.media) session.media.close();
    session.media = null;
  }

  async devicesChanged(kind) {
    for (const session of [...this.sessions.values()]) {
      if (!session.media) continue;
      if (kind === 'speaker') session.media.setSpeaker(this.devices.choice('speaker'));
      if (kind !== 'microphone') continue;
      try {
        await session.media.replaceMicrophone();
        session.error = '';
      } catch (error) {
        session.error = error.message;
      }
      this.changed(session);
    }
  }
}
