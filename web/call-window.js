// The floating call windows (bottom right, above everything): an incoming-call toast, the
// window of a call on this device, and the compact "On another device" panel. They only show
// a session's state; every button goes back to the Softphone through `actions`.

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

// The words under the caller's name; the e2e tests read them from `.call-state`.
export function stateText(session) {
  switch (session.phase) {
    case 'placing': return session.hangupRequested ? 'Hanging up…' : 'Calling…';
    case 'ringing': return session.waiting ? 'Call waiting' : 'Incoming call';
    case 'answering': return 'Connecting…';
    case 'hanging_up': return 'Hanging up…';
    case 'ended': return endedText(session.endOverride || session.endMessage);
    case 'failed': return 'Call not connected';
    default: break;
  }
  const state = session.call ? session.call.state : 'dialing';
  if (state === 'answered') return session.phase === 'live' && !session.legId ? 'Connecting…' : 'Connected';
  if (state === 'ringing') return session.direction === 'outgoing' ? 'Ringing…' : 'Incoming call';
  if (state === 'ended') return endedText(session.call.end_message);
  return 'Calling…';
}

function who(session) {
  const { name, number } = session.counterpart;
  return { title: name || number || 'Unknown caller', detail: name && number && name !== number ? number : '' };
}

function kindOf(session) {
  if (session.phase === 'ringing') return 'toast';
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
        button('hangup', 'Hang up', 'phone-off'));
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
      parts.done = h('div', { class: 'call-actions' }, button('close', 'Close', 'x'));
      element = h('section', { class: 'call-window', id, role: 'region', 'aria-labelledby': `${id}-name` },
        h('header', { class: 'call-head' }, avatar, h('div', { class: 'call-who' }, name, number), timer),
        h('p', { class: 'call-line', 'aria-live': 'polite' }, state),
        error, keypad, parts.live, parts.done);
    }
    return { kind, element, parts };
  }

  patch(session, view) {
    const { element, parts } = view;
    const { title, detail } = who(session);
    element.dataset.phase = session.phase;
    element.dataset.direction = session.direction;
    element.dataset.state = session.call ? session.call.state : '';
    if (session.id) element.dataset.callId = session.id;
    else delete element.dataset.callId;
    if (/\p{L}/u.test(title)) parts.avatar.textContent = initials(title);
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
      element.classList.toggle('over', over);
    }
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
  }

  tick() {
    if (!this.clock && this.views.size) this.clock = setInterval(() => this.tick(), 500);
    const now = Date.now();
    this.container.querySelectorAll('.call-timer[data-since]').forEach((timer) => {
      timer.textContent = mmss(now - Date.parse(timer.dataset.since));
    });
  }
}
