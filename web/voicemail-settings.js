// Mailbox settings, in the Voicemail view: the PIN (for the phone menu, *86), which greeting
// callers hear while the user is on a call, voicemail to e-mail, and the three recordings
// (Unavailable greeting, Busy greeting, Name): hear, upload an audio file, delete (back to the
// default). Greetings are also recorded by phone: *86, then 0.

import { api } from './api.js';
import { h, icon, showError } from './dom.js';

const RECORDINGS = [
  ['unavailable', 'Unavailable greeting', 'Not recorded: callers hear the default greeting, with your name or extension.'],
  ['busy', 'Busy greeting', 'Not recorded: callers hear your Unavailable greeting.'],
  ['name', 'Name', 'Not recorded: the default greeting says your extension.'],
];
const PIN_PATTERN = /^[0-9]{4,8}$/;

function describe(error) {
  return error && error.describe ? error.describe() : 'That did not work. Try again.';
}

export class MailboxSettings {
  constructor({ getMe }) {
    this.getMe = getMe;
    this.mailbox = null;
    this.version = 0; // changes the recordings' URLs after each change, so players reload
    this.pinForm = document.getElementById('pin-form');
    this.pinStatus = document.getElementById('pin-status');
    this.pinError = document.getElementById('pin-error');
    this.pinOk = document.getElementById('pin-ok');
    this.form = document.getElementById('mailbox-form');
    this.email = document.getElementById('email-enabled');
    this.emailAddress = document.getElementById('email-address');
    this.error = document.getElementById('mailbox-error');
    this.ok = document.getElementById('mailbox-ok');
    this.recordings = document.getElementById('recordings');
    this.recordingsError = document.getElementById('recordings-error');

    this.pinForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.savePin();
    });
    this.form.querySelectorAll('input[name="greeting_choice"]').forEach((radio) =>
      radio.addEventListener('change', () => this.save({ greeting_choice: radio.value })));
    this.email.addEventListener('change', () => this.save({ email_enabled: this.email.checked }));
  }

  async refresh() {
    try {
      this.mailbox = await api('GET', 'voicemail/mailbox/');
    } catch (error) {
      showError(this.error, `Your mailbox settings are unavailable right now. ${describe(error)}`);
      return;
    }
    this.paint();
  }

  paint() {
    const mailbox = this.mailbox;
    const lockedUntil = mailbox.locked_until ? new Date(mailbox.locked_until) : null;
    if (lockedUntil && lockedUntil > new Date()) {
      const time = lockedUntil.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      this.pinStatus.textContent = `Your mailbox is locked until ${time} after too many wrong PINs. A new PIN unlocks it.`;
    } else {
      this.pinStatus.textContent = mailbox.has_pin
        ? 'Your mailbox has a PIN. Enter a new one to change it.'
        : 'Your mailbox has no PIN yet: set one to reach your messages by phone.';
    }
    this.pinForm.dataset.hasPin = String(mailbox.has_pin);
    const radio = this.form.querySelector(`input[name="greeting_choice"][value="${mailbox.greeting_choice}"]`);
    if (radio) radio.checked = true;
    this.email.checked = mailbox.email_enabled;
    this.email.disabled = !mailbox.email && !mailbox.email_enabled;
    this.emailAddress.textContent = mailbox.email
      ? `To ${mailbox.email}.`
      : 'Your account has no e-mail address.';
    this.recordings.replaceChildren(...RECORDINGS.map(([kind, title, fallback]) => this.recording(kind, title, fallback)));
  }

  recording(kind, title, fallback) {
    const url = this.mailbox.greetings[kind];
    const id = `recording-${kind}`;
    const file = h('input', {
      type: 'file', accept: 'audio/*', hidden: true, id: `${id}-file`,
      onchange: () => {
        if (file.files.length) this.upload(kind, title, file.files[0]);
      },
    });
    return h('li', { class: 'recording', dataset: { kind, recorded: String(Boolean(url)) }, 'aria-labelledby': `${id}-title` },
      h('div', { class: 'recording-text' },
        h('span', { class: 'recording-name', id: `${id}-title` }, title),
        h('span', { class: 'note' }, url ? 'Recorded.' : fallback)),
      url ? h('audio', {
        class: 'recording-player', controls: true, preload: 'none', src: `${url}?v=${this.version}`, 'aria-label': `Your ${title}`,
      }) : null,
      h('div', { class: 'recording-actions' },
        file,
        h('button', {
          type: 'button', class: 'button', 'aria-label': `Upload ${url ? 'a new' : 'your'} ${title}`,
          title: `Upload an audio file (up to ${this.mailbox.max_greeting_seconds} seconds)`,
          onclick: () => file.click(),
        }, icon('upload'), ' Upload'),
        url ? h('button', {
          type: 'button', class: 'button danger', 'aria-label': `Delete your ${title}`,
          title: kind === 'name' ? 'Delete your recorded name' : 'Delete it: callers hear the default greeting',
          onclick: () => this.remove(kind, title),
        }, icon('trash'), ' Delete') : null));
  }

  // ---- the PIN ----

  async savePin() {
    const { pin, confirm } = this.pinForm.elements;
    this.pinOk.hidden = true;
    if (!PIN_PATTERN.test(pin.value)) {
      showError(this.pinError, 'A PIN is 4 to 8 digits.');
      pin.focus();
      return;
    }
    if (pin.value !== confirm.value) {
      showError(this.pinError, 'The two PINs are different. Type the same PIN twice.');
      confirm.focus();
      return;
    }
    try {
      await api('PUT', 'voicemail/pin/', { pin: pin.value });
    } catch (error) {
      showError(this.pinError, describe(error));
      pin.focus();
      return;
    }
    showError(this.pinError, '');
    this.pinForm.reset();
    this.pinOk.hidden = false;
    await this.refresh();
  }

  // ---- greeting choice and e-mail ----

  async save(change) {
    this.ok.hidden = true;
    try {
      this.mailbox = await api('PATCH', 'voicemail/mailbox/', change);
      showError(this.error, '');
      this.ok.hidden = false;
    } catch (error) {
      showError(this.error, describe(error));
    }
    if (this.mailbox) this.paint(); // a refusal puts the choice back as it was
  }

  // ---- recordings ----

  path(kind) {
    const me = this.getMe();
    return `voicemail/mailboxes/${me ? me.id : 0}/greetings/${kind}/`;
  }

  async upload(kind, title, file) {
    showError(this.recordingsError, '');
    const body = new FormData();
    body.append('file', file);
    try {
      this.mailbox = await api('PUT', this.path(kind), body);
      this.version += 1;
    } catch (error) {
      showError(this.recordingsError, `Your ${title} was not changed. ${describe(error)}`);
    }
    this.paint();
    this.focusRecording(kind);
  }

  async remove(kind, title) {
    showError(this.recordingsError, '');
    try {
      this.mailbox = await api('DELETE', this.path(kind));
      this.version += 1;
    } catch (error) {
      showError(this.recordingsError, `Your ${title} was not deleted. ${describe(error)}`);
    }
    this.paint();
    this.focusRecording(kind);
  }

  focusRecording(kind) {
    const button = this.recordings.querySelector(`[data-kind="${kind}"] .recording-actions .button`);
    if (button) button.focus();
  }
}
