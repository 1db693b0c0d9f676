// The floating call windows (bottom right, above everything): an incoming-call toast, the
// window of a call on this device, and the compact "On another device" panel. They only show
// a session's state; every button goes back to the Softphone through `actions`.
//
// A call window also carries call handling: Hold/Resume, Transfer, Park, Invite and Switch
// Device; a consultation (attended transfer) shows Complete transfer / Cancel transfer; a
// conference lists who is in it. The caller's picture can be dragged onto a person in the
// Directory, Contacts or Favourites to transfer (`drag-transfer.js`), and a person dragged
// into the window is invited.

import { h, icon, initials } from './dom.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

export function mmss(milliseconds) {
  const total = Math.max(0, Math.floor(milliseconds / 1000));
  const minutes = Math.floor(total / 60);
  return `${String(minutes).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
}

function endedText(message) {
  if (!message || /^call ended\.?$/i.test(message.trim())) return 'Call ended';
  return `Call ended: ${message}`;
}

// A call in voicemail: leaving a message for someone, in a mailbox's menu (*86, *84), or
// hearing a greeting (*85, whose counterpart is "Voicemail of <name>").
function voicemailText(session) {
  const { name, number } = session.counterpart;
  if (session.call.voicemail === 'deposit') return `Voicemail: leaving a message for ${name || number || 'them'}`;
  if (session.call.voicemail === 'greeting') {
    const owner = (name || '').replace(/^Voicemail of /, '');
    return owner && owner !== 'Voicemail' ? `Greeting of ${owner}` : 'Your greeting';
  }
  return 'Voicemail';
}

// Why call handling is off during a call in voicemail (the server refuses it too).
const VOICEMAIL_REASONS = {
  hold: 'A call in voicemail cannot be put on hold.',
  transfer: 'A call in voicemail cannot be transferred.',
  park: 'A call in voicemail cannot be parked.',
  invite: 'Nobody can be invited into a call in voicemail.',
  switch: 'A call in voicemail cannot be switched to another device.',
};

// The words under the caller's name; the e2e tests read them from `.call-state`.
export function stateText(session) {
  switch (session.phase) {
    case 'placing': return session.hangupRequested ? 'Hanging up…' : 'Calling…';
    case 'ringing': return session.waiting ? 'Call waiting' : 'Incoming call';
    case 'switching': return 'Move this call here';
    case 'answering': return 'Connecting…';
    case 'hanging_up': return 'Hanging up…';
    case 'ended': return endedText(session.endOverride || session.endMessage);
    case 'failed': return 'Call not connected';
    default: break;
  }
  const state = session.call ? session.call.state : 'dialing';
  const call = session.call || {};
  if (state === 'answered' && call.awaiting_pin) return 'Enter the room’s PIN on the keypad, then #';
  if (state === 'answered' && call.voicemail) return voicemailText(session);
  if (state === 'answered' && call.held_by_me) return call.conference ? 'On hold: the others go on without you' : 'On hold';
  if (state === 'answered' && call.on_hold) return `${session.counterpart.name || 'The other side'} put you on hold`;
  if (state === 'parked') return `Parked at ${call.park_slot}`;
  if (state === 'answered') return session.phase === 'live' && !session.legId ? 'Connecting…' : 'Connected';
  if (state === 'ringing') return session.direction === 'outgoing' ? 'Ringing…' : 'Incoming call';
  if (state === 'ended') return endedText(session.call.end_message);
  return 'Calling…';
}

function who(session) {
  const conference = session.call && session.call.state !== 'ended' ? session.call.conference : null;
  if (conference) {
    const people = conference.participants.length;
    return {
      title: conference.extension ? `${conference.name} (${conference.extension})` : conference.name,
      detail: `${people} ${people === 1 ? 'person' : 'people'}`,
    };
  }
  const { name, number } = session.counterpart;
  return { title: name || number || 'Unknown caller', detail: name && number && name !== number ? number : '' };
}

function kindOf(session) {
  if (session.phase === 'ringing' || session.phase === 'switching') return 'toast';
  if (session.phase === 'foreign') return 'foreign';
  return 'call';
}

export class CallWindows {
  constructor({ container, actions }) {
    this.container = container;
    this.actions = actions;
    this.views = new Map();
    this.clock = null;
  }

  render(session) {
    const kind = kindOf(session);
    const previous = this.views.get(session.key);
    let view = previous;
    if (!previous || previous.kind !== kind) {
      view = this.build(session, kind);
      this.views.set(session.key, view);
      if (previous) {
        const hadFocus = previous.element.contains(document.activeElement);
        previous.element.replaceWith(view.element);
        if (hadFocus) (view.element.querySelector('[data-action="hangup"]') || view.element).focus();
      } else {
        this.container.prepend(view.element);
      }
    }
    this.patch(session, view);
    this.tick();
  }

  remove(session) {
    const view = this.views.get(session.key);
    if (!view) return;
    this.views.delete(session.key);
    const hadFocus = view.element.contains(document.activeElement);
    view.element.remove();
    if (hadFocus) {
      const next = this.container.querySelector('button');
      if (next) next.focus();
    }
    if (!this.views.size) {
      clearInterval(this.clock);
      this.clock = null;
    }
  }

  build(session, kind) {
    const id = `call-${session.key}`;
    const name = h('h2', { class: 'call-name', id: `${id}-name` });
    const number = h('p', { class: 'call-number', id: `${id}-number` });
    const state = h('p', { class: 'call-state', id: `${id}-state` });
    const timer = h('span', { class: 'call-timer', id: `${id}-timer`, hidden: true });
    const error = h('p', { class: 'call-error', id: `${id}-error`, role: 'alert', hidden: true });
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    const parts = { name, number, state, timer, error, avatar };
    const button = (action, label, glyph, extra = {}) => h('button', {
      type: 'button', class: `call-button call-${action}`, dataset: { action }, id: `${id}-${action}`,
      onclick: () => this.act(action, session), ...extra,
    }, icon(glyph), h('span', {}, label));

    let element;
    if (kind === 'toast') {
      parts.kicker = h('p', { class: 'call-kicker' });
      element = h('section', {
        class: 'call-window call-toast', id, role: 'alertdialog', 'aria-labelledby': `${id}-kicker ${id}-name`,
        'aria-describedby': `${id}-number`,
      },
      h('header', { class: 'call-head' }, avatar,
        h('div', { class: 'call-who' }, Object.assign(parts.kicker, { id: `${id}-kicker` }), name, number)),
      error,
      h('div', { class: 'call-actions' },
        button('decline', 'Decline', 'phone-off', { 'aria-keyshortcuts': 'Alt+Shift+D', title: 'Decline (Alt+Shift+D)' }),
        button('answer', 'Answer', 'phone', { 'aria-keyshortcuts': 'Alt+Shift+A', title: 'Answer (Alt+Shift+A)' })));
    } else if (kind === 'foreign') {
      element = h('section', { class: 'call-window compact', id, role: 'region', 'aria-labelledby': `${id}-kicker ${id}-name` },
        h('div', { class: 'call-who' },
          h('p', { class: 'call-kicker', id: `${id}-kicker` }, 'On another device'),
          name, number, h('p', { class: 'call-line' }, state, timer)),
        error,
        h('div', { class: 'call-actions' },
          button('take', 'Switch here', 'monitor-smartphone', { title: 'Move the call to this device' }),
          button('hangup', 'Hang up', 'phone-off')));
    } else {
      const keypad = h('div', { class: 'keypad', id: `${id}-keypad`, role: 'group', 'aria-label': 'Keypad', hidden: true },
        KEYS.map((key) => h('button', {
          type: 'button', class: 'key', dataset: { key },
          onclick: () => this.actions.dtmf(session, key),
        }, key)));
      parts.keypad = keypad;
      // With the keypad open, the keyboard's digits, * and # send tones too.
      keypad.addEventListener('keydown', (event) => {
        if (KEYS.includes(event.key) && !event.altKey && !event.ctrlKey && !event.metaKey) {
          event.preventDefault();
          this.actions.dtmf(session, event.key);
        }
      });
      parts.live = h('div', { class: 'call-actions' },
        button('mute', 'Mute', 'mic', { 'aria-pressed': 'false' }),
        button('keypad', 'Keypad', 'grid-3x3', { 'aria-expanded': 'false', 'aria-controls': `${id}-keypad` }),
        button('hangup', 'Hang up', 'phone-off'));
      parts.handling = h('div', { class: 'call-actions handling', role: 'group', 'aria-label': 'Call handling' },
        button('hold', 'Hold', 'pause'),
        button('transfer', 'Transfer', 'arrow-right-left', { 'aria-haspopup': 'dialog' }),
        button('park', 'Park', 'square-parking'),
        button('invite', 'Invite', 'user-plus', { 'aria-haspopup': 'dialog' }),
        button('switch', 'Switch Device', 'monitor-smartphone', { 'aria-haspopup': 'menu' }));
      parts.consult = h('div', { class: 'call-actions consult', hidden: true },
        button('complete', 'Complete transfer', 'check'),
        button('cancel-transfer', 'Cancel transfer', 'x'));
      parts.devices = h('div', { class: 'device-menu', role: 'menu', 'aria-label': 'Switch the call to', hidden: true });
      parts.roster = h('div', { class: 'roster', hidden: true },
        h('h3', { class: 'roster-title', id: `${id}-roster` }),
        h('ul', { class: 'participants', 'aria-labelledby': `${id}-roster` }));
      parts.done = h('div', { class: 'call-actions' }, button('close', 'Close', 'x'));
      avatar.setAttribute('draggable', 'true');
      avatar.classList.add('drag-handle');
      avatar.title = 'Drag onto a person to transfer the call';
      avatar.addEventListener('dragstart', (event) => this.actions.dragStart(session, event));
      avatar.addEventListener('dragend', () => this.actions.dragEnd(session));
      element = h('section', { class: 'call-window', id, role: 'region', 'aria-labelledby': `${id}-name` },
        h('header', { class: 'call-head' }, avatar, h('div', { class: 'call-who' }, name, number), timer),
        h('p', { class: 'call-line', 'aria-live': 'polite' }, state),
        error, parts.roster, keypad, parts.consult, parts.handling, parts.devices, parts.live, parts.done);
      // A person dragged here from the Directory, Contacts or Favourites is invited.
      element.addEventListener('dragover', (event) => this.actions.dragOverWindow(session, event));
      element.addEventListener('drop', (event) => this.actions.dropOnWindow(session, event));
    }
    return { kind, element, parts };
  }

  patch(session, view) {
    const { element, parts } = view;
    const { title, detail } = who(session);
    element.dataset.phase = session.phase;
    element.dataset.direction = session.direction;
    element.dataset.state = session.call ? session.call.state : '';
    element.dataset.held = session.call && (session.call.held_by_me || session.call.on_hold) ? 'true' : 'false';
    if (session.id) element.dataset.callId = session.id;
    else delete element.dataset.callId;
    const inVoicemail = Boolean(session.call && session.call.voicemail && session.call.state !== 'ended');
    element.dataset.voicemail = inVoicemail ? session.call.voicemail : '';
    if (inVoicemail && session.call.voicemail !== 'deposit') parts.avatar.replaceChildren(icon('voicemail'));
    else if (/\p{L}/u.test(title)) parts.avatar.textContent = initials(title);
    else parts.avatar.replaceChildren(icon('phone'));
    parts.name.textContent = title;
    parts.number.textContent = detail;
    parts.number.hidden = !detail;
    parts.state.textContent = stateText(session);
    parts.error.textContent = session.error || '';
    parts.error.hidden = !session.error;
    const since = session.call && session.call.state === 'answered' && session.phase !== 'ended'
      && (session.phase === 'foreign' || session.legId) ? session.call.answered_at : null;
    parts.timer.hidden = !since;
    if (since) parts.timer.dataset.since = since;
    else delete parts.timer.dataset.since;
    if (view.kind === 'toast') {
      parts.kicker.textContent = session.waiting ? 'Call waiting' : 'Incoming call';
      element.classList.toggle('waiting', Boolean(session.waiting));
      element.querySelector('[data-action="answer"]').disabled = false;
      const call = session.call || {};
      if (session.phase === 'switching') parts.kicker.textContent = 'Switch here from your other device';
      else if (call.transferred_by && call.conference) parts.kicker.textContent = `${call.transferred_by} invites you to a conference`;
      else if (/^Park \d+$/.test(call.transferred_by || '')) parts.kicker.textContent = `Ringing back from ${call.transferred_by.toLowerCase()}`;
      else if (call.transferred_by) parts.kicker.textContent = `Transferred by ${call.transferred_by}`;
    }
    if (view.kind === 'foreign') {
      element.querySelector('[data-action="take"]').hidden = !(session.call && session.call.state === 'answered');
    }
    if (view.kind === 'call') {
      const over = session.phase === 'ended' || session.phase === 'failed';
      parts.live.hidden = over;
      parts.done.hidden = !over;
      if (over) parts.keypad.hidden = true;
      const answered = session.call && session.call.state === 'answered' && session.legId;
      const mute = element.querySelector('[data-action="mute"]');
      mute.setAttribute('aria-pressed', String(Boolean(session.muted)));
      mute.replaceChild(icon(session.muted ? 'mic-off' : 'mic'), mute.firstChild);
      element.querySelector('[data-action="keypad"]').disabled = !answered;
      if (!answered) this.showKeypad(view, false);
      // The mailbox menu runs on keypad keys: its keypad opens by itself, once.
      if (answered && session.call.voicemail === 'menu' && !view.keypadOpened) {
        view.keypadOpened = true;
        this.showKeypad(view, true);
      }
      element.classList.toggle('over', over);
      this.patchHandling(session, view, { answered: Boolean(answered), over });
    }
  }

  patchHandling(session, view, { answered, over }) {
    const { element, parts } = view;
    const call = session.call || {};
    const conference = call.conference || null;
    const consultation = Boolean(call.consult_for);
    const me = this.actions.me();
    const softphone = !me || !me.calling_device || me.calling_device === 'softphone';
    parts.handling.hidden = over || !answered || Boolean(call.awaiting_pin);
    parts.consult.hidden = over || !consultation;
    const hold = element.querySelector('[data-action="hold"]');
    const held = Boolean(call.held_by_me);
    hold.replaceChildren(icon(held ? 'play' : 'pause'), h('span', {}, held ? 'Resume' : 'Hold'));
    hold.dataset.mode = held ? 'resume' : 'hold';
    hold.disabled = !softphone || Boolean(call.on_hold);
    if (!softphone) hold.title = 'Hold works only when Softphone is the calling device.';
    else if (held) hold.title = conference ? 'Go back into the conference' : 'Resume the call';
    else hold.title = conference ? 'Step out of the conference; the others go on' : 'Put the call on hold';
    const busy = Boolean(call.on_hold) || Boolean(conference);
    for (const action of ['transfer', 'park']) {
      const control = element.querySelector(`[data-action="${action}"]`);
      control.disabled = busy || consultation;
      control.title = conference ? 'Not in a conference.' : (call.on_hold ? 'The other side has put the call on hold.' : '');
    }
    const invite = element.querySelector('[data-action="invite"]');
    invite.disabled = held || Boolean(call.on_hold) || consultation;
    invite.title = '';
    const switchDevice = element.querySelector('[data-action="switch"]');
    switchDevice.disabled = false;
    switchDevice.title = '';
    if (call.voicemail) {
      for (const [action, reason] of Object.entries(VOICEMAIL_REASONS)) {
        const control = element.querySelector(`[data-action="${action}"]`);
        control.disabled = true;
        control.title = reason;
      }
      parts.devices.hidden = true;
    }
    parts.avatar.setAttribute('draggable', String(!call.voicemail));
    parts.avatar.classList.toggle('drag-handle', !call.voicemail);
    parts.avatar.title = call.voicemail ? '' : 'Drag onto a person to transfer the call';
    if (parts.handling.hidden) parts.devices.hidden = true;
    this.patchRoster(session, view, conference);
  }

  patchRoster(session, view, conference) {
    const { parts } = view;
    parts.roster.hidden = !conference;
    if (!conference) return;
    parts.roster.querySelector('.roster-title').textContent = 'In this conference';
    const rows = conference.participants.map((person) => {
      const controls = conference.can_manage && !person.is_you ? [
        h('button', {
          type: 'button', class: 'icon-button', dataset: { action: 'mute-participant', leg: person.leg_id },
          'aria-pressed': String(person.is_muted), 'aria-label': `${person.is_muted ? 'Unmute' : 'Mute'} ${person.name}`,
          title: `${person.is_muted ? 'Unmute' : 'Mute'} ${person.name}`,
          onclick: () => this.actions.muteParticipant(session, person.leg_id, !person.is_muted),
        }, icon(person.is_muted ? 'mic-off' : 'mic')),
        h('button', {
          type: 'button', class: 'icon-button', dataset: { action: 'remove-participant', leg: person.leg_id },
          'aria-label': `Remove ${person.name}`, title: `Remove ${person.name} from the conference`,
          onclick: () => this.actions.removeParticipant(session, person.leg_id),
        }, icon('user-x')),
      ] : [];
      return h('li', { class: 'participant', dataset: { userId: String(person.user_id) } },
        h('span', { class: 'participant-name' }, person.is_you ? `${person.name} (you)` : person.name),
        person.is_on_hold ? h('span', { class: 'participant-note' }, 'on hold') : null,
        person.is_muted ? h('span', { class: 'participant-note' }, 'muted') : null,
        ...controls);
    });
    const ringing = conference.ringing.map((person) => h('li', { class: 'participant ringing' },
      h('span', { class: 'participant-name' }, person.name), h('span', { class: 'participant-note' }, 'ringing…')));
    parts.roster.querySelector('.participants').replaceChildren(...rows, ...ringing);
  }

  // Switch Device: the user's other signed-in devices, as a small menu under the buttons.
  showDevices(session, devices) {
    const view = this.views.get(session.key);
    if (!view || view.kind !== 'call') return;
    const others = devices.filter((device) => !device.is_this);
    const items = others.length
      ? others.map((device) => h('button', {
        type: 'button', role: 'menuitem', class: 'menu-item', dataset: { connection: String(device.id) },
        onclick: () => {
          view.parts.devices.hidden = true;
          this.actions.switchTo(session, device.id);
        },
      }, device.label, h('small', {}, ` · signed in ${new Date(device.connected_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`)))
      : [h('p', { class: 'menu-note' }, 'You are not signed in on another device. Open TOC on another device, then try again.')];
    view.parts.devices.replaceChildren(...items);
    view.parts.devices.hidden = false;
    const first = view.parts.devices.querySelector('button');
    if (first) first.focus();
  }

  showKeypad(view, open) {
    view.parts.keypad.hidden = !open;
    view.element.querySelector('[data-action="keypad"]').setAttribute('aria-expanded', String(open));
  }

  act(action, session) {
    const view = this.views.get(session.key);
    if (action === 'keypad') {
      this.showKeypad(view, view.parts.keypad.hidden);
      if (!view.parts.keypad.hidden) view.parts.keypad.querySelector('.key').focus();
    } else if (action === 'mute') this.actions.toggleMute(session);
    else if (action === 'hangup') this.actions.hangUp(session);
    else if (action === 'answer') this.actions.answer(session);
    else if (action === 'decline') this.actions.decline(session);
    else if (action === 'close') this.actions.close(session);
    else if (action === 'hold') {
      const mode = view.element.querySelector('[data-action="hold"]').dataset.mode;
      if (mode === 'resume') this.actions.resume(session);
      else this.actions.hold(session);
    } else if (action === 'transfer') this.actions.openTransfer(session);
    else if (action === 'park') this.actions.park(session);
    else if (action === 'invite') this.actions.openInvite(session);
    else if (action === 'switch') {
      if (!view.parts.devices.hidden) view.parts.devices.hidden = true;
      else this.actions.listDevices(session).then((devices) => this.showDevices(session, devices));
    } else if (action === 'complete') this.actions.completeTransfer(session);
    else if (action === 'cancel-transfer') this.actions.cancelTransfer(session);
    else if (action === 'take') this.actions.take(session);
  }

  tick() {
    if (!this.clock && this.views.size) this.clock = setInterval(() => this.tick(), 500);
    const now = Date.now();
    this.container.querySelectorAll('.call-timer[data-since]').forEach((timer) => {
      timer.textContent = mmss(now - Date.parse(timer.dataset.since));
    });
  }
}
