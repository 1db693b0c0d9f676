// The Voicemail view (rail, Alt+5): new and old messages, newest first. Clicking a message
// selects it and shows its player; right-clicking it (or the Menu key, Shift+F10, or its
// More actions button) offers Save to old messages, Delete and Call back. The rail's badge
// counts new messages, live from `voicemail.changed`. The mailbox's settings (PIN, greetings,
// e-mail) are voicemail-settings.js.

import { api } from './api.js';
import { h, icon, initials, showError } from './dom.js';
import { isContextMenuKey, PopupMenu } from './menu.js';
import { MailboxSettings } from './voicemail-settings.js';

const FOLDERS = { new: 'No new messages.', old: 'No old messages.' };

// 83.4 seconds -> "1:23".
export function minutesSeconds(seconds) {
  const total = Math.max(0, Math.round(seconds || 0));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

function when(iso) {
  const date = new Date(iso);
  const now = new Date();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === now.toDateString()) return `Today ${time}`;
  const options = { month: 'short', day: 'numeric' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return `${date.toLocaleDateString([], options)} ${time}`;
}

function callerOf(message) {
  const { name, number } = message.caller;
  return { title: name || number || 'Unknown caller', number: name && number && name !== number ? number : '' };
}

export class Voicemail {
  // `onCall(number, name)` dials through the softphone (Call back).
  constructor({ onCall, getMe }) {
    this.onCall = onCall;
    this.visible = false;
    this.messages = [];
    this.selectedId = null;
    this.player = null; // the selected message's <audio>, kept while the lists are redrawn
    this.loads = 0;
    this.keyboardMenuAt = 0;
    this.lists = { new: document.getElementById('voicemail-new-list'), old: document.getElementById('voicemail-old-list') };
    this.counts = { new: document.getElementById('voicemail-new-count'), old: document.getElementById('voicemail-old-count') };
    this.badge = document.getElementById('voicemail-badge');
    this.error = document.getElementById('voicemail-error');
    this.status = document.getElementById('voicemail-status');
    this.loaded = false;
    this.menu = new PopupMenu(document.getElementById('voicemail-menu'));
    this.settings = new MailboxSettings({ getMe });
    document.getElementById('voicemail-call-mailbox').addEventListener('click', () => this.onCall('*86', 'Voicemail'));
  }

  show() {
    this.visible = true;
    this.refresh();
    this.settings.refresh();
  }

  hide() {
    this.visible = false;
    this.menu.close({ restoreFocus: false });
    if (this.player) this.player.pause();
  }

  // ---- the badge and live changes ----

  changed(event) {
    if (typeof event.new_count === 'number') this.paintBadge(event.new_count);
    if (this.visible) this.refresh();
  }

  paintBadge(count) {
    this.badge.hidden = !count;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.badge.setAttribute('aria-label', `${count} new voicemail message${count === 1 ? '' : 's'}`);
  }

  // After every (re)connect and on every change: the messages, newest first, and the count.
  async refresh() {
    this.loads += 1;
    const load = this.loads;
    let result;
    try {
      result = await api('GET', 'voicemail/messages/');
    } catch {
      if (load !== this.loads) return;
      for (const list of Object.values(this.lists)) {
        list.dataset.state = 'unavailable';
        list.replaceChildren(h('li', { class: 'list-empty' }, 'Voicemail is unavailable right now.'));
      }
      return;
    }
    if (load !== this.loads) return; // a newer refresh is on its way
    const known = this.loaded ? new Set(this.messages.map((message) => message.id)) : null;
    this.messages = result.results || [];
    this.loaded = true;
    const arrived = known ? this.messages.filter((message) => message.folder === 'new' && !known.has(message.id)) : [];
    if (arrived.length) this.status.textContent = `New voicemail message from ${callerOf(arrived[0]).title}.`;
    this.paintBadge(result.new_count || 0);
    if (!this.messages.some((message) => message.id === this.selectedId)) this.select(null, { render: false });
    this.render();
  }

  // ---- the lists ----

  render() {
    // Redrawing replaces the rows: focus in one of them goes back to the same control.
    const focused = document.activeElement;
    const focusedRow = focused && focused.closest ? focused.closest('#voicemail-view .voicemail-row') : null;
    const focusedPart = focusedRow && (focused.classList.contains('voicemail-more') ? '.voicemail-more' : '.voicemail-entry');
    for (const [folder, emptyText] of Object.entries(FOLDERS)) {
      const messages = this.messages.filter((message) => message.folder === folder);
      const list = this.lists[folder];
      list.dataset.state = 'ready';
      this.counts[folder].textContent = messages.length ? String(messages.length) : '';
      list.replaceChildren(...(messages.length
        ? messages.map((message) => this.row(message))
        : [h('li', { class: 'list-empty' }, emptyText)]));
    }
    if (focusedRow && !focusedRow.isConnected) {
      const again = document.querySelector(`#voicemail-view .voicemail-row[data-message-id="${focusedRow.dataset.messageId}"] ${focusedPart}`);
      if (again) again.focus();
    }
  }

  row(message) {
    const { title, number } = callerOf(message);
    const selected = message.id === this.selectedId;
    const detailsId = `voicemail-${message.id}-details`;
    const entry = h('button', {
      type: 'button', class: 'voicemail-entry', 'aria-expanded': String(selected), 'aria-controls': detailsId,
      'aria-keyshortcuts': 'Shift+F10',
      onclick: () => this.select(selected ? null : message.id, { focus: true }),
      onkeydown: (event) => this.arrowKey(event),
    },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, /\p{L}/u.test(title) ? initials(title) : icon('voicemail')),
    h('span', { class: 'entry-text' },
      h('span', { class: 'entry-name' }, title,
        message.folder === 'new' ? h('span', { class: 'visually-hidden' }, ' (new)') : null),
      h('span', { class: 'entry-sub' }, number)),
    h('span', { class: 'voicemail-meta' },
      h('time', { datetime: message.created_at, title: new Date(message.created_at).toLocaleString() }, when(message.created_at)),
      h('span', { class: 'voicemail-duration', 'aria-label': `${minutesSeconds(message.duration_seconds)} long` },
        minutesSeconds(message.duration_seconds))));
    const row = h('li', {
      class: `voicemail-row${selected ? ' selected' : ''}${message.folder === 'new' ? ' unheard' : ''}`,
      dataset: { messageId: message.id, folder: message.folder },
      oncontextmenu: (event) => this.contextMenu(event, message),
      onkeydown: (event) => this.menuKey(event, message),
    }, entry);
    if (selected) row.append(this.details(message, detailsId));
    return row;
  }

  details(message, id) {
    if (!this.player || this.player.dataset.messageId !== message.id) {
      if (this.player) this.player.pause();
      this.player = h('audio', {
        class: 'voicemail-player', controls: true, preload: 'none', src: message.audio_url,
        dataset: { messageId: message.id }, 'aria-label': `Message from ${callerOf(message).title}`,
      });
    }
    return h('div', { class: 'voicemail-details', id },
      this.player,
      h('button', {
        type: 'button', class: 'icon-button voicemail-more', 'aria-label': 'More actions', title: 'More actions',
        'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'voicemail-menu',
        onclick: (event) => this.openMenu(message, { button: event.currentTarget }),
      }, icon('ellipsis'), h('span', { class: 'more-label', 'aria-hidden': 'true' }, 'More actions')));
  }

  entryOf(id) {
    return document.querySelector(`#voicemail-view .voicemail-row[data-message-id="${id}"] .voicemail-entry`);
  }

  select(id, { render = true, focus = false } = {}) {
    if (id !== this.selectedId && this.player) {
      this.player.pause();
      this.player = null;
    }
    this.selectedId = id;
    if (!render) return;
    this.render();
    const entry = id && this.entryOf(id);
    if (focus && entry) entry.focus();
  }

  // Up and Down move between messages.
  arrowKey(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const entries = [...document.querySelectorAll('#voicemail-view .voicemail-entry')];
    const next = entries[entries.indexOf(event.currentTarget) + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }

  // The Menu key and Shift+F10, anywhere in a message's row, open its menu.
  menuKey(event, message) {
    if (!isContextMenuKey(event)) return;
    event.preventDefault();
    this.keyboardMenuAt = performance.now();
    if (this.selectedId !== message.id) this.select(message.id);
    const entry = this.entryOf(message.id);
    const box = entry.getBoundingClientRect();
    this.openMenu(message, { at: { x: box.left + 24, y: box.bottom }, returnFocus: entry });
  }

  contextMenu(event, message) {
    if (event.target.closest('audio')) return; // the player keeps its own menu (speed, download)
    event.preventDefault();
    // The Menu key also fires contextmenu after its keydown, which opened the menu already.
    if (this.keyboardMenuAt && performance.now() - this.keyboardMenuAt < 500) return;
    if (this.selectedId !== message.id) this.select(message.id);
    this.openMenu(message, { at: { x: event.clientX, y: event.clientY }, returnFocus: this.entryOf(message.id) });
  }

  // ---- what the menu does ----

  openMenu(message, { at = null, button = null, returnFocus = null } = {}) {
    this.menu.open([
      { name: 'save', label: 'Save to old messages', glyph: 'archive', hidden: message.folder !== 'new', action: () => this.save(message) },
      { name: 'delete', label: 'Delete', glyph: 'trash', action: () => this.remove(message) },
      { name: 'call-back', label: 'Call back', glyph: 'phone', hidden: !message.caller.number, action: () => this.onCall(message.caller.number, message.caller.name) },
    ], { at, button, returnFocus });
  }

  async save(message) {
    showError(this.error, '');
    try {
      await api('POST', `voicemail/messages/${message.id}/save/`);
    } catch (error) {
      showError(this.error, `The message could not be saved to old messages. ${error.describe ? error.describe() : ''}`.trim());
    }
    await this.refresh();
    const entry = this.entryOf(message.id);
    if (entry) entry.focus();
  }

  async remove(message) {
    showError(this.error, '');
    const entries = [...document.querySelectorAll('#voicemail-view .voicemail-entry')];
    const next = entries[entries.indexOf(this.entryOf(message.id)) + 1];
    const nextId = next ? next.closest('.voicemail-row').dataset.messageId : null;
    try {
      await api('DELETE', `voicemail/messages/${message.id}/`);
    } catch (error) {
      showError(this.error, `The message could not be deleted. ${error.describe ? error.describe() : ''}`.trim());
    }
    await this.refresh();
    const entry = (nextId && this.entryOf(nextId)) || document.querySelector('#voicemail-view .voicemail-entry');
    if (entry) entry.focus();
    else document.getElementById('voicemail-title').focus();
  }
}
