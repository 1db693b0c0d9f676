// Directory (colleagues with live presence), personal Contacts, Favourites, one search box.

import { api } from './api.js';
import { makePersonDraggable } from './call-handling.js';
import { numberToCall } from './people.js';
import { h, icon, initials, showError } from './dom.js';
import { paintDot, presenceText } from './presence.js';

const EMPTY_TEXT = {
  directory: 'Nobody matches.',
  contacts: 'No contacts yet. Add the people you call outside the company.',
  favourites: 'Star someone to keep them here.',
};
const NUMBER_LABELS = { work_number: 'Work', mobile_number: 'Mobile', home_number: 'Home' };


export class Directory {
  // `onCall(number, name)` places a call (the softphone); the directory only asks for one.
  // `onText(number)` opens an SMS conversation with a mobile or direct number (sms.js).
  constructor({ onCall = () => {}, onText = null } = {}) {
    this.onCall = onCall;
    this.onText = onText;
    this.myId = null;
    this.list = document.getElementById('list');
    this.content = document.getElementById('content');
    this.search = document.getElementById('search');
    this.addButton = document.getElementById('add-contact');
    this.tab = 'directory';
    this.query = '';
    this.lists = { directory: [], contacts: [], favourites: [] };
    this.presence = new Map();
    this.selected = null;
    this.searchTimer = null;
    document.querySelectorAll('[data-tab]').forEach((button) =>
      button.addEventListener('click', () => this.showTab(button.dataset.tab)));
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.refresh(), 150);
    });
    this.addButton.addEventListener('click', () => this.editContact(null));
  }

  showTab(tab) {
    this.tab = tab;
    document.querySelectorAll('[data-tab]').forEach((button) =>
      button.setAttribute('aria-selected', String(button.dataset.tab === tab)));
    this.addButton.hidden = tab !== 'contacts';
    this.render();
  }

  async refresh() {
    this.query = this.search.value.trim();
    const result = await api('GET', `search/?q=${encodeURIComponent(this.query)}`);
    this.lists = result;
    for (const entry of result.directory) this.presence.set(entry.id, entry.presence);
    this.render();
    if (this.selected) {
      const again = this.find(this.selected.kind, this.selected.id);
      if (again) this.showEntry(again);
    }
  }

  find(kind, id) {
    const pool = kind === 'colleague' ? this.lists.directory : this.lists.contacts;
    return pool.find((entry) => entry.id === id) || null;
  }

  updatePresence(presence) {
    this.presence.set(presence.user_id, presence);
    document.querySelectorAll(`[data-presence-of="${presence.user_id}"]`).forEach((dot) => paintDot(dot, presence));
    document.querySelectorAll(`[data-presence-text-of="${presence.user_id}"]`).forEach((text) => {
      text.textContent = presenceText(presence);
    });
  }

  render() {
    const entries = this.lists[this.tab];
    this.list.replaceChildren(
      ...(entries.length ? entries.map((entry) => this.row(entry)) : [h('li', { class: 'list-empty' }, EMPTY_TEXT[this.tab])]),
    );
  }

  avatar(entry) {
    const dot = entry.kind === 'colleague'
      ? h('span', { class: 'presence-dot', dataset: { presenceOf: String(entry.id) } })
      : null;
    if (dot) paintDot(dot, this.presence.get(entry.id));
    return h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(entry.name), dot);
  }

  subtitle(entry) {
    if (entry.kind === 'colleague') {
      return h('span', { class: 'entry-sub' },
        entry.extension ? `Ext. ${entry.extension}` : '',
        entry.extension ? ' · ' : '',
        h('span', { dataset: { presenceTextOf: String(entry.id) } }, presenceText(this.presence.get(entry.id))));
    }
    const firstNumber = Object.values(entry.numbers_display)[0];
    return h('span', { class: 'entry-sub' }, [entry.company, firstNumber || entry.email].filter(Boolean).join(' · '));
  }

  row(entry) {
    const isSelected = this.selected && this.selected.kind === entry.kind && this.selected.id === entry.id;
    const label = entry.is_favourite ? `Remove ${entry.name} from Favourites` : `Add ${entry.name} to Favourites`;
    const star = h('button', {
      type: 'button',
      class: `star${entry.is_favourite ? ' on' : ''}`,
      'aria-pressed': String(entry.is_favourite),
      'aria-label': label,
      title: label,
      onclick: () => this.toggleFavourite(entry),
    }, icon('star'));
    const number = this.isMe(entry) ? '' : numberToCall(entry);
    const call = number
      ? h('button', {
        type: 'button',
        class: 'row-action call',
        'aria-label': `Call ${entry.name}`,
        title: `Call ${entry.name} (${number})`,
        onclick: () => this.onCall(number, entry.name),
      }, icon('phone'))
      : null;
    // A row with a number takes a dragged call (transfer) and can be dragged into a call.
    const dataset = { kind: entry.kind, id: String(entry.id), ...(number ? { number, name: entry.name } : {}) };
    const row = h('li', { class: 'entry-row', dataset },
      h('button', {
        type: 'button',
        class: `entry${isSelected ? ' selected' : ''}`,
        onclick: () => this.showEntry(entry),
      }, this.avatar(entry), h('span', { class: 'entry-text' }, h('span', { class: 'entry-name' }, entry.name), this.subtitle(entry))),
      call,
      star);
    if (number) makePersonDraggable(row, { number, name: entry.name });
    return row;
  }

  // Your own entry gets no call buttons: calling yourself only earns a refusal.
  isMe(entry) {
    return entry.kind === 'colleague' && entry.id === this.myId;
  }

  callButton(entry, label, value, number) {
    if (this.isMe(entry)) return null;
    return h('button', {
      type: 'button',
      class: 'row-action call fact-call',
      'aria-label': `Call ${value}`,
      title: `Call ${entry.name} (${label.toLowerCase()} ${value})`,
      onclick: () => this.onCall(number, entry.name),
    }, icon('phone'));
  }

  textButton(entry, label, value, number) {
    if (!this.onText || this.isMe(entry) || !['Mobile', 'Direct number'].includes(label)) return null;
    return h('button', {
      type: 'button',
      class: 'row-action text-number fact-call',
      'aria-label': `Text ${value}`,
      title: `Send ${entry.name} an SMS (${label.toLowerCase()} ${value})`,
      onclick: () => this.onText(number),
    }, icon('message-circle'));
  }

  async toggleFavourite(entry) {
    await api(entry.is_favourite ? 'DELETE' : 'PUT', `favourites/${entry.kind}/${entry.id}/`);
    await this.refresh();
  }

  showEntry(entry) {
    this.selected = { kind: entry.kind, id: entry.id };
    this.list.querySelectorAll('.entry').forEach((button) => button.classList.remove('selected'));
    const row = this.list.querySelector(`[data-kind="${entry.kind}"][data-id="${entry.id}"] .entry`);
    if (row) row.classList.add('selected');
    const facts = [];
    // Facts are [label, shown value, icon, number to dial or nothing].
    if (entry.kind === 'colleague') {
      if (entry.extension) facts.push(['Extension', entry.extension, icon('phone'), entry.extension]);
      if (entry.direct_number) facts.push(['Direct number', entry.direct_number_display, icon('phone'), entry.direct_number]);
    } else {
      if (entry.company) facts.push(['Company', entry.company, icon('building')]);
      for (const [field, number] of Object.entries(entry.numbers_display)) {
        facts.push([NUMBER_LABELS[field], number, icon('phone'), entry[field]]);
      }
    }
    if (entry.email) facts.push(['E-mail', entry.email, icon('mail')]);
    const presenceLine = entry.kind === 'colleague'
      ? h('p', { class: 'detail-presence' },
        h('span', { class: 'presence-dot', dataset: { presenceOf: String(entry.id) } }),
        h('span', { dataset: { presenceTextOf: String(entry.id) } }, presenceText(this.presence.get(entry.id))))
      : null;
    const actions = entry.kind === 'contact'
      ? h('div', { class: 'detail-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => this.editContact(entry) }, icon('edit'), ' Edit'),
        h('button', { type: 'button', class: 'button danger', onclick: () => this.deleteContact(entry) }, icon('trash'), ' Delete'))
      : null;
    this.content.replaceChildren(h('article', { class: 'detail' },
      h('header', { class: 'detail-header' },
        h('span', { class: 'avatar huge', 'aria-hidden': 'true' }, initials(entry.name)),
        h('div', {}, h('h2', {}, entry.name), presenceLine)),
      h('dl', { class: 'facts' }, facts.map(([label, value, glyph, dial]) => [
        h('dt', {}, glyph, label),
        h('dd', {}, value, dial ? this.callButton(entry, label, value, dial) : null, dial ? this.textButton(entry, label, value, dial) : null)])),
      actions));
    const dot = this.content.querySelector('.presence-dot');
    if (dot) paintDot(dot, this.presence.get(entry.id));
  }

  editContact(entry) {
    const field = (name, label, type = 'text') => [
      h('label', { for: `contact-${name}` }, label),
      h('input', { id: `contact-${name}`, name, type, value: entry ? entry[name] : '', autocomplete: 'off' }),
    ];
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'stack contact-form', novalidate: true },
      h('h2', {}, entry ? `Edit ${entry.name}` : 'New contact'),
      field('name', 'Name'), field('company', 'Company'), field('work_number', 'Work number', 'tel'),
      field('mobile_number', 'Mobile number', 'tel'), field('home_number', 'Home number', 'tel'),
      field('email', 'E-mail', 'email'), error,
      h('div', { class: 'detail-actions' },
        h('button', { type: 'button', class: 'button', onclick: () => (entry ? this.showEntry(entry) : this.content.replaceChildren()) }, 'Cancel'),
        h('button', { type: 'submit', class: 'button primary' }, 'Save')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(new FormData(form).entries());
      try {
        const saved = await api(entry ? 'PUT' : 'POST', entry ? `contacts/${entry.id}/` : 'contacts/', body);
        this.selected = { kind: 'contact', id: saved.id };
        if (this.tab !== 'contacts') this.showTab('contacts');
        await this.refresh();
      } catch (failure) {
        showError(error, failure.describe ? failure.describe() : String(failure));
      }
    });
    this.content.replaceChildren(form);
    form.elements.name.focus();
  }

  async deleteContact(entry) {
    if (!window.confirm(`Delete ${entry.name} from your contacts?`)) return;
    await api('DELETE', `contacts/${entry.id}/`);
    this.selected = null;
    this.content.replaceChildren();
    await this.refresh();
  }
}
