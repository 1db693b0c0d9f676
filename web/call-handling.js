// Call handling that needs more than a button: the Transfer window (live search, then
// Transfer, Attended or Voicemail, which sends the caller to a colleague's mailbox to leave a
// message), the Invite window (add people to a call), and drag-and-drop: the caller's picture
// dragged onto a person in the Directory, Contacts or Favourites shows Blind / Attended /
// Voicemail on that entry, and a person dragged into a call window is invited.

import { api } from './api.js';
import { h, showError } from './dom.js';
import { numberToCall, personResult } from './people.js';

const CALL_TYPE = 'application/x-toc-call';
export const PERSON_TYPE = 'application/x-toc-person';
const VOICEMAIL_USERS_ONLY = 'Voicemail transfer works only to users of the system.';
const VOICEMAIL_CHOOSE = 'Voicemail: choose a colleague, and the caller leaves them a message.';
const DROP_KINDS = [
  ['blind', 'Blind'],
  ['attended', 'Attended'],
  ['voicemail', 'Voicemail'],
];


export class CallHandling {
  constructor({ softphone, directoryList }) {
    this.softphone = softphone;
    this.directoryList = directoryList;
    this.dialog = document.getElementById('transfer-dialog');
    this.form = document.getElementById('transfer-form');
    this.title = document.getElementById('transfer-title');
    this.about = document.getElementById('transfer-call');
    this.input = document.getElementById('transfer-input');
    this.results = document.getElementById('transfer-results');
    this.error = document.getElementById('transfer-error');
    this.voicemailNote = document.getElementById('transfer-voicemail-note');
    this.buttons = Object.fromEntries([...this.form.querySelectorAll('[data-transfer]')]
      .map((button) => [button.dataset.transfer, button]));
    this.session = null;
    this.mode = 'transfer';
    this.choice = null;
    this.searchTimer = null;
    this.dragging = null;

    this.input.addEventListener('input', () => {
      this.choice = null;
      this.paintChoice();
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), 150);
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown') {
        const first = this.results.querySelector('button');
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.perform(this.mode === 'invite' ? 'invite' : 'blind');
    });
    for (const [kind, button] of Object.entries(this.buttons)) {
      if (button.type !== 'submit') button.addEventListener('click', () => this.perform(kind));
    }
    document.getElementById('transfer-cancel').addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('close', () => { this.session = null; });
    this.wireDirectoryDrops();
  }

  // ---- the Transfer and Invite windows ----

  openTransfer(session) {
    this.open(session, 'transfer');
  }

  openInvite(session) {
    this.open(session, 'invite');
  }

  open(session, mode) {
    this.session = session;
    this.mode = mode;
    this.choice = null;
    this.input.value = '';
    this.results.replaceChildren();
    showError(this.error, '');
    const who = session.counterpart.name || session.counterpart.number || 'this call';
    this.title.textContent = mode === 'invite' ? 'Invite to the call' : 'Transfer';
    this.about.textContent = mode === 'invite'
      ? `Whoever you invite joins you and ${who} in a conference.`
      : `Send ${who} to someone else.`;
    this.buttons.blind.hidden = mode === 'invite';
    this.buttons.attended.hidden = mode === 'invite';
    this.buttons.voicemail.hidden = mode === 'invite';
    this.voicemailNote.hidden = mode === 'invite';
    this.buttons.invite.hidden = mode !== 'invite';
    this.paintChoice();
    this.dialog.showModal();
    this.input.focus();
  }

  async search() {
    const query = this.input.value.trim();
    if (!query) {
      this.results.replaceChildren();
      return;
    }
    let found;
    try {
      found = await api('GET', `search/?q=${encodeURIComponent(query)}`);
    } catch {
      return;
    }
    if (query !== this.input.value.trim()) return;
    const entries = [...found.directory, ...found.contacts]
      .filter((entry) => numberToCall(entry) && !(entry.kind === 'colleague' && entry.id === this.softphone.getMe()?.id))
      .slice(0, 8);
    this.results.replaceChildren(...entries.map((entry) => personResult(entry, () => this.choose(entry))));
  }

  choose(entry) {
    this.choice = { destination: numberToCall(entry), name: entry.name, isUser: entry.kind === 'colleague' };
    this.input.value = this.choice.destination;
    this.results.replaceChildren();
    this.paintChoice();
    this.buttons[this.mode === 'invite' ? 'invite' : 'blind'].focus();
  }

  // Voicemail takes a user of the system: a colleague chosen from the matches, or an
  // extension typed in (the server says if nobody has it).
  paintChoice() {
    const typed = this.input.value.trim();
    const isUser = this.choice ? this.choice.isUser : /^[0-9]{3,4}$/.test(typed);
    const who = this.choice ? this.choice.name : `extension ${typed}`;
    const caller = this.session ? this.session.counterpart.name || this.session.counterpart.number || 'The caller' : 'The caller';
    let note = VOICEMAIL_USERS_ONLY;
    if (isUser) note = `Voicemail: ${caller} leaves a message for ${who}.`;
    else if (!typed) note = VOICEMAIL_CHOOSE;
    this.buttons.voicemail.disabled = !isUser;
    this.buttons.voicemail.title = isUser ? `Send ${caller} to the voicemail of ${who}` : note;
    this.voicemailNote.textContent = note;
  }

  async perform(kind) {
    const session = this.session;
    const destination = (this.choice ? this.choice.destination : this.input.value).trim();
    if (!session) return;
    if (!destination) {
      showError(this.error, 'Type a name or a number first.');
      this.input.focus();
      return;
    }
    const name = this.choice ? this.choice.name : '';
    const message = await this.run(session, kind, destination, name);
    if (message) {
      showError(this.error, message);
      return;
    }
    this.dialog.close();
  }

  // Does one kind of transfer (or the invite); the refusal's words, or '' when it was done.
  async run(session, kind, destination, name = '') {
    if (kind === 'attended') {
      // The consultation opens its own window, where a refusal shows.
      await this.softphone.consult(session, destination, { name });
      return '';
    }
    let reply;
    if (kind === 'invite') reply = await this.softphone.addPeople(session, destination);
    else if (kind === 'voicemail') reply = await this.softphone.act(session, 'call.transfer_voicemail', { destination });
    else reply = await this.softphone.transfer(session, destination);
    if (reply) return '';
    const message = session.error;
    session.error = '';
    this.softphone.changed(session);
    return message || 'That did not work. Try again.';
  }

  // ---- drag and drop ----

  dragStart(session, event) {
    if (!session.id || !session.call || session.call.state !== 'answered' || session.call.voicemail) {
      event.preventDefault();
      return;
    }
    this.dragging = session;
    event.dataTransfer.setData(CALL_TYPE, session.id);
    event.dataTransfer.effectAllowed = 'move';
    document.body.classList.add('dragging-call');
  }

  dragEnd() {
    this.dragging = null;
    document.body.classList.remove('dragging-call');
    this.directoryList.querySelectorAll('.drop-options').forEach((options) => options.remove());
  }

  dragOverWindow(session, event) {
    if (event.dataTransfer.types.includes(PERSON_TYPE) && !(session.call && session.call.voicemail)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    }
  }

  async dropOnWindow(session, event) {
    const person = readPerson(event);
    if (!person || (session.call && session.call.voicemail)) return;
    event.preventDefault();
    const message = await this.run(session, 'invite', person.number, person.name);
    if (message) {
      session.error = message;
      this.softphone.changed(session);
    }
  }

  // Entries of the Directory, Contacts and Favourites lists take a dragged call: hovering
  // one shows Blind / Attended / Voicemail, and dropping on one of those does it.
  wireDirectoryDrops() {
    const list = this.directoryList;
    list.addEventListener('dragover', (event) => {
      if (!this.dragging) return;
      const row = event.target.closest('.entry-row[data-number]');
      if (!row) return;
      this.showDropOptions(row);
      const kind = dropKindAt(row, event.clientX);
      row.querySelectorAll('.drop-option').forEach((option) => option.classList.toggle('over', option.dataset.kind === kind));
      if (kind !== 'voicemail' || isUserRow(row)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = 'move';
      }
    });
    list.addEventListener('drop', async (event) => {
      const row = event.target.closest('.entry-row[data-number]');
      const session = this.dragging;
      if (!row || !session) return;
      const kind = dropKindAt(row, event.clientX);
      if (kind === 'voicemail' && !isUserRow(row)) return;
      event.preventDefault();
      const { number, name } = row.dataset;
      this.dragEnd();
      const message = await this.run(session, kind, number, name);
      if (message) {
        session.error = message;
        this.softphone.changed(session);
      }
    });
  }

  showDropOptions(row) {
    if (row.querySelector('.drop-options')) return;
    this.directoryList.querySelectorAll('.drop-options').forEach((options) => options.remove());
    const isUser = isUserRow(row);
    row.append(h('div', { class: 'drop-options', role: 'group', 'aria-label': `Transfer to ${row.dataset.name}` },
      DROP_KINDS.map(([kind, label]) => {
        const disabled = kind === 'voicemail' && !isUser;
        let title = `${label} transfer`;
        if (kind === 'voicemail') title = isUser ? `Send the caller to the voicemail of ${row.dataset.name}` : VOICEMAIL_USERS_ONLY;
        return h('div', { class: `drop-option${disabled ? ' disabled' : ''}`, dataset: { kind }, title }, label);
      })));
  }
}

// Only users of the system (Directory entries with an extension) have a voicemail.
function isUserRow(row) {
  return row.dataset.kind === 'colleague';
}

// The options lie side by side over the entry (Blind, Attended, Voicemail): which one is
// under the pointer follows from where it is, even before the overlay has been drawn.
function dropKindAt(row, clientX) {
  const box = row.getBoundingClientRect();
  const third = Math.min(2, Math.max(0, Math.floor(((clientX - box.left) / box.width) * 3)));
  return DROP_KINDS[third][0];
}

function readPerson(event) {
  try {
    const person = JSON.parse(event.dataTransfer.getData(PERSON_TYPE) || 'null');
    return person && person.number ? person : null;
  } catch {
    return null;
  }
}

// Makes a directory row draggable into call windows and the Conference window.
export function makePersonDraggable(row, { number, name }) {
  row.setAttribute('draggable', 'true');
  row.addEventListener('dragstart', (event) => {
    if (document.body.classList.contains('dragging-call')) return;
    event.dataTransfer.setData(PERSON_TYPE, JSON.stringify({ number, name }));
    event.dataTransfer.effectAllowed = 'copy';
  });
}

export { readPerson };
