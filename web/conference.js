// The Conference window: choose a room (its extension in brackets) or Instant conference,
// invite people (search, or drag them in from the Directory, Contacts or Favourites), Join.
// Joining a room with a PIN asks for it on the call's keypad, like dialling the room.

import { api } from './api.js';
import { readPerson, PERSON_TYPE } from './call-handling.js';
import { h, icon, showError } from './dom.js';
import { personResult } from './people.js';

export class ConferenceWindow {
  constructor({ softphone, getMe }) {
    this.softphone = softphone;
    this.getMe = getMe;
    this.form = document.getElementById('conference-form');
    this.select = document.getElementById('conference-room');
    this.roomNote = document.getElementById('conference-room-note');
    this.input = document.getElementById('conference-invite-input');
    this.results = document.getElementById('conference-search-results');
    this.inviteesList = document.getElementById('conference-invitees');
    this.error = document.getElementById('conference-error');
    this.zone = document.getElementById('conference-invitees-zone');
    this.rooms = [];
    this.invitees = [];
    this.searchTimer = null;

    this.select.addEventListener('change', () => this.paintRoom());
    this.input.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.search(), 150);
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.inviteTyped();
      }
    });
    document.getElementById('conference-invite-button').addEventListener('click', () => this.inviteTyped());
    this.zone.addEventListener('dragover', (event) => {
      if (event.dataTransfer.types.includes(PERSON_TYPE)) {
        event.preventDefault();
        this.zone.classList.add('over');
      }
    });
    this.zone.addEventListener('dragleave', () => this.zone.classList.remove('over'));
    this.zone.addEventListener('drop', (event) => {
      this.zone.classList.remove('over');
      const person = readPerson(event);
      if (!person) return;
      event.preventDefault();
      this.invite(person.number, person.name);
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.join();
    });
  }

  async show() {
    try {
      this.rooms = await api('GET', 'conference/rooms/');
    } catch {
      this.rooms = [];
    }
    const chosen = this.select.value;
    this.select.replaceChildren(
      h('option', { value: '' }, 'Instant conference'),
      ...this.rooms.map((room) => h('option', { value: String(room.id) }, `${room.name} (${room.extension})`)),
    );
    if ([...this.select.options].some((option) => option.value === chosen)) this.select.value = chosen;
    this.paintRoom();
    this.paintInvitees();
  }

  room() {
    return this.rooms.find((room) => String(room.id) === this.select.value) || null;
  }

  paintRoom() {
    const room = this.room();
    if (!room) this.roomNote.textContent = 'An instant conference rings the people you invite; it ends when fewer than two remain.';
    else if (room.has_pin) this.roomNote.textContent = `Anyone can dial ${room.extension} to join. This room has a PIN: you will enter it on the keypad after Join.`;
    else this.roomNote.textContent = `Anyone can dial ${room.extension} to join.`;
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
    const me = this.getMe();
    const people = found.directory.filter((entry) => entry.extension && (!me || entry.id !== me.id)).slice(0, 6);
    this.results.replaceChildren(...people.map((entry) => personResult(entry, () => {
      this.invite(entry.extension, entry.name);
      this.input.value = '';
      this.results.replaceChildren();
    })));
  }

  inviteTyped() {
    const number = this.input.value.trim();
    if (!/^[0-9]{3,4}$/.test(number)) {
      showError(this.error, 'Choose someone from the list, or type their extension.');
      return;
    }
    this.invite(number, '');
    this.input.value = '';
    this.results.replaceChildren();
  }

  invite(number, name) {
    showError(this.error, '');
    if (!/^[0-9]{3,4}$/.test(number)) {
      showError(this.error, 'Conferences can invite users of the company (by extension) for now.');
      return;
    }
    if (!this.invitees.some((person) => person.number === number)) this.invitees.push({ number, name: name || `Ext. ${number}` });
    this.paintInvitees();
  }

  paintInvitees() {
    this.inviteesList.replaceChildren(...this.invitees.map((person) => h('li', { class: 'invitee', dataset: { number: person.number } },
      h('span', {}, person.name, person.name.endsWith(person.number) ? '' : ` (${person.number})`),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': `Do not invite ${person.name}`,
        onclick: () => {
          this.invitees = this.invitees.filter((other) => other.number !== person.number);
          this.paintInvitees();
        },
      }, icon('x')))));
  }

  async join() {
    const room = this.room();
    if (!room && !this.invitees.length) {
      showError(this.error, 'Invite at least one person to an instant conference, or choose a room.');
      return;
    }
    showError(this.error, '');
    const invitees = this.invitees.map((person) => person.number);
    this.invitees = [];
    this.paintInvitees();
    await this.softphone.joinConference({
      roomId: room ? room.id : null,
      name: room ? `${room.name} (${room.extension})` : 'Instant conference',
      invitees,
    });
  }
}
