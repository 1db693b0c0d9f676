// The Phone view: the dial pad with Redial, the calling-device selector (bottom right), the
// Access Codes menu (Voicemail dials *86) and the headset button (top right) in the list pane;
// the call history (All / Missed) in the content pane; the missed-calls badge on the rail's
// Phone button.

import { api } from './api.js';
import { h, icon, showError } from './dom.js';
import { PopupMenu } from './menu.js';
import { cleanNumber, lastDialled } from './softphone.js';

const OUTCOME_WORDS = {
  declined: 'Declined',
  busy: 'Busy',
  no_answer: 'No answer',
  cancelled: 'Cancelled',
  unreachable: 'Unreachable',
  failed: 'Failed',
};
const DIRECTION_WORDS = { incoming: 'Incoming call', outgoing: 'Outgoing call', missed: 'Missed call' };
// Access Codes: feature codes dialled from the menu (the dial plan is the server's).
const ACCESS_CODES = [['*86', 'Voicemail', 'voicemail']];
const DIRECTION_ICONS = { incoming: 'phone-incoming', outgoing: 'phone-outgoing', missed: 'phone-missed' };

function duration(row) {
  if (row.direction === 'missed') return 'Missed';
  if (row.answered_at) {
    const seconds = Math.max(0, row.duration_seconds || 0);
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }
  return OUTCOME_WORDS[row.outcome] || 'Not answered';
}

function when(iso) {
  const date = new Date(iso);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  const options = { month: 'short', day: 'numeric' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString([], options);
}

export class Phone {
  constructor({ softphone, devices, onMeChanged }) {
    this.softphone = softphone;
    this.devices = devices;
    this.onMeChanged = onMeChanged;
    this.me = null;
    this.visible = false;
    this.tab = 'all';
    this.rows = [];
    this.input = document.getElementById('dial-input');
    this.redial = document.getElementById('redial-button');
    this.device = document.getElementById('calling-device');
    this.deviceError = document.getElementById('calling-device-error');
    this.list = document.getElementById('history-list');
    this.badge = document.getElementById('missed-badge');
    this.clearButton = document.getElementById('clear-history');

    this.input.addEventListener('input', () => this.tidyInput());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.dial();
      }
    });
    document.querySelectorAll('#dial-pad [data-key]').forEach((key) =>
      key.addEventListener('click', () => this.press(key.dataset.key)));
    document.getElementById('dial-backspace').addEventListener('click', () => this.backspace());
    document.getElementById('call-button').addEventListener('click', () => this.dial());
    this.redial.addEventListener('click', () => this.callNumber(lastDialled()));
    document.getElementById('headset-button').addEventListener('click', () => this.devices.open());
    this.accessCodes = new PopupMenu(document.getElementById('access-codes-menu'));
    const accessButton = document.getElementById('access-codes-button');
    accessButton.addEventListener('click', () => {
      if (this.accessCodes.isOpen) this.accessCodes.close();
      else this.accessCodes.open(ACCESS_CODES.map(([code, label, glyph]) => ({
        name: code, label: `${label} (${code})`, glyph, action: () => this.callNumber(code, label),
      })), { button: accessButton });
    });
    this.device.addEventListener('change', () => this.saveDevice());
    document.querySelectorAll('[data-history-tab]').forEach((tab) =>
      tab.addEventListener('click', () => this.showTab(tab.dataset.historyTab)));
    this.clearButton.addEventListener('click', () => this.clearHistory());
    // In the Phone view, digits typed anywhere but a field go to the dial pad.
    document.addEventListener('keydown', (event) => this.typeAnywhere(event));
    this.paintRedial();
  }

  // ---- dial pad ----

  tidyInput() {
    const before = this.input.value;
    const tidy = cleanNumber(before);
    if (tidy !== before) {
      const caret = this.input.selectionStart - (before.length - tidy.length);
      this.input.value = tidy;
      this.input.setSelectionRange(Math.max(0, caret), Math.max(0, caret));
    }
  }

  press(key) {
    const inCall = this.softphone.answeredHere();
    if (inCall && key !== '+') {
      this.softphone.sendDtmf(inCall, key);
      return;
    }
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    const at = document.activeElement === this.input ? start : value.length;
    const to = document.activeElement === this.input ? end : value.length;
    this.input.value = cleanNumber(value.slice(0, at) + key + value.slice(to));
    this.input.focus();
    const caret = Math.min(this.input.value.length, at + 1);
    this.input.setSelectionRange(caret, caret);
  }

  typeAnywhere(event) {
    if (!this.visible || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest('input, textarea, select, dialog, .call-window')) return;
    if (/^[0-9*#+]$/.test(event.key)) {
      event.preventDefault();
      this.press(event.key);
    }
  }

  backspace() {
    this.input.value = this.input.value.slice(0, -1);
    this.input.focus();
  }

  dial() {
    const number = cleanNumber(this.input.value);
    if (!number) {
      this.input.focus();
      return;
    }
    this.callNumber(number);
  }

  callNumber(number, name = '') {
    if (number) this.softphone.call(number, { name });
  }

  paintRedial() {
    const number = lastDialled();
    this.redial.disabled = !number;
    this.redial.title = number ? `Redial ${number}` : 'Redial (nothing dialled yet)';
  }

  // ---- calling device ----

  setMe(me) {
    this.me = me;
    if (document.activeElement !== this.device) this.device.value = me.calling_device;
  }

  async saveDevice() {
    const chosen = this.device.value;
    showError(this.deviceError, '');
    try {
      const me = await api('PATCH', 'me/preferences/', { calling_device: chosen });
      this.me = me;
      this.onMeChanged(me);
    } catch (error) {
      if (this.me) this.device.value = this.me.calling_device;
      showError(this.deviceError, error.describe ? error.describe() : String(error));
    }
  }

  // ---- view ----

  show() {
    this.visible = true;
    this.paintRedial();
    this.refresh().then(() => this.markSeen());
  }

  hide() {
    this.visible = false;
    this.accessCodes.close({ restoreFocus: false });
  }

  focusDialPad() {
    this.input.focus();
  }

  // ---- history ----

  showTab(tab) {
    this.tab = tab;
    document.querySelectorAll('[data-history-tab]').forEach((button) =>
      button.setAttribute('aria-selected', String(button.dataset.historyTab === tab)));
    this.refresh();
  }

  async refresh() {
    let result;
    try {
      result = await api('GET', `calls/history/${this.tab === 'missed' ? '?missed=true' : ''}`);
    } catch {
      this.list.dataset.state = 'unavailable';
      this.list.replaceChildren(h('li', { class: 'list-empty' }, 'Call history is unavailable right now.'));
      this.clearButton.disabled = true;
      return;
    }
    this.rows = result.results || [];
    this.paintBadge(result.missed_unseen || 0);
    this.render();
  }

  render() {
    this.list.dataset.state = 'ready';
    this.clearButton.disabled = this.tab !== 'all' || !this.rows.length;
    if (!this.rows.length) {
      this.list.replaceChildren(h('li', { class: 'list-empty' }, this.tab === 'missed' ? 'No missed calls.' : 'No calls yet.'));
      return;
    }
    this.list.replaceChildren(...this.rows.map((row) => this.row(row)));
  }

  row(row) {
    const { name, number } = row.counterpart;
    const title = name || number || 'Unknown';
    const missed = row.direction === 'missed';
    const unseen = missed && row.is_seen === false ? ' unseen' : '';
    return h('li', { class: `history-row${missed ? ' missed' : ''}${unseen}`, id: `history-${row.id}`, dataset: { recordId: String(row.id), callId: row.call_id, direction: row.direction } },
      h('span', { class: 'history-icon', title: DIRECTION_WORDS[row.direction] }, icon(DIRECTION_ICONS[row.direction] || 'phone'),
        h('span', { class: 'visually-hidden' }, DIRECTION_WORDS[row.direction])),
      h('span', { class: 'history-text' },
        h('span', { class: 'history-name' }, title),
        h('span', { class: 'history-sub' }, name && number ? number : '')),
      h('span', { class: 'history-meta' },
        h('time', { class: 'history-time', datetime: row.started_at }, when(row.started_at)),
        h('span', { class: 'history-duration' }, duration(row))),
      h('span', { class: 'history-actions' },
        number ? h('button', {
          type: 'button', class: 'row-action call-back', 'aria-label': `Call back ${title}`, title: `Call back ${title}`,
          onclick: () => this.callNumber(number, name),
        }, icon('phone')) : null,
        h('button', {
          type: 'button', class: 'row-action delete', 'aria-label': `Delete the call with ${title} from history`, title: 'Delete from history',
          onclick: () => this.deleteRow(row),
        }, icon('trash'))));
  }

  async deleteRow(row) {
    try {
      await api('DELETE', `calls/history/${row.id}/`);
    } catch {
      // Already gone (another session deleted it): the refresh shows the truth either way.
    }
    await this.refresh();
  }

  async clearHistory() {
    if (!window.confirm('Clear your whole call history? This cannot be undone.')) return;
    try {
      await api('DELETE', 'calls/history/');
    } catch {
      // The refresh below shows what is left.
    }
    await this.refresh();
  }

  // ---- missed calls ----

  historyChanged(event) {
    if (typeof event.missed_unseen === 'number') this.paintBadge(event.missed_unseen);
    if (this.visible) {
      this.refresh();
      if (event.missed_unseen && document.visibilityState === 'visible') this.markSeen();
    }
  }

  paintBadge(count) {
    this.badge.hidden = !count;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.badge.setAttribute('aria-label', `${count} missed call${count === 1 ? '' : 's'}`);
  }

  async markSeen() {
    if (this.badge.hidden) return;
    try {
      await api('POST', 'calls/history/seen/');
      this.paintBadge(0);
    } catch {
      // The badge stays until the server has recorded it.
    }
  }

  async loadBadge() {
    try {
      const result = await api('GET', 'calls/history/?missed=true');
      this.paintBadge(result.missed_unseen || 0);
    } catch {
      // History unavailable: no badge rather than a wrong one.
    }
  }
}
