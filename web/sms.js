// The SMS view (rail, Alt+4): texts and picture messages with cellphones in Canada, sent from
// and to my direct number (docs: the SMS contract). This module owns the thread list (newest
// activity first, unread counts, opted-out tags), New SMS, the rail's unread badge, the
// notices (no direct number; no carrier configured) and every `sms.*` live event; the open
// thread is sms-thread.js and its composer sms-composer.js. The list is loaded on every
// (re)connect, so the badge is live even when the view was never opened. A copy of a thread
// fetched or heard earlier never replaces a newer one (two server processes may deliver
// events out of order).

import { api } from './api.js';
import { h, showError } from './dom.js';
import { previewOf, threadName, threadRow } from './sms-render.js';
import { ThreadView } from './sms-thread.js';

function newer(thread, earlier) {
  return !earlier || (thread.last_message_at || '') >= (earlier.last_message_at || '');
}

export class Sms {
  // `onCall(number, name)` dials through the softphone; `onShow()` switches to the SMS view.
  constructor({ onCall, onShow }) {
    this.onShow = onShow;
    this.threads = new Map();
    this.localNumber = null; // null until loaded, '' when I have no direct number
    this.carrier = '';
    this.unreadTotal = 0;
    this.loaded = false;
    this.loads = 0;
    this.visible = false;
    this.openId = null;
    this.pane = document.getElementById('sms-view');
    this.conversationPane = document.getElementById('sms-conversation');
    this.list = document.getElementById('sms-list');
    this.badge = document.getElementById('sms-badge');
    this.newButton = document.getElementById('sms-new-button');
    this.emptyNew = document.getElementById('sms-empty-new');
    this.dialog = document.getElementById('sms-new-dialog');
    this.toInput = document.getElementById('sms-to-input');
    this.newError = document.getElementById('sms-new-error');
    this.view = new ThreadView({
      onCall,
      onMessage: (message) => this.messageCreated({ message }),
      onRead: (result) => this.threadRead(result),
      onBack: () => this.closeThread({ focusList: true }),
      getState: () => ({ localNumber: this.localNumber }),
    });
    this.wire();
  }

  wire() {
    this.newButton.addEventListener('click', () => this.openNew());
    this.emptyNew.addEventListener('click', () => this.openNew());
    document.getElementById('sms-new-cancel').addEventListener('click', () => this.dialog.close());
    document.getElementById('sms-new-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.start(this.toInput.value);
    });
    this.toInput.addEventListener('input', () => showError(this.newError, ''));
  }

  show() {
    this.visible = true;
    this.view.setVisible(true);
    if (!this.loaded) this.refresh();
    this.paintLayout();
  }

  hide() {
    this.visible = false;
    this.view.setVisible(false);
  }

  // Alt+4: straight to the composer of the open thread, else to the list.
  focus() {
    const composer = this.view.composer;
    if (this.openId && !composer.form.hidden && !composer.input.disabled) composer.focus();
    else (this.list.querySelector('.sms-entry') || (this.newButton.hidden ? document.getElementById('sms-title') : this.newButton)).focus();
  }

  // ---- the list ----

  // After every (re)connect: my number, the carrier, the threads and the unread total; the open
  // thread catches up and what could not be sent goes again.
  async refresh() {
    this.loads += 1;
    const load = this.loads;
    let result;
    try {
      result = await api('GET', 'sms/threads/');
    } catch {
      if (load === this.loads && !this.loaded) this.list.replaceChildren(h('li', { class: 'list-empty' }, 'SMS is unavailable right now.'));
      return;
    }
    if (load !== this.loads) return;
    const earlier = this.threads;
    this.threads = new Map(result.threads.map((thread) => {
      const known = earlier.get(thread.id);
      return [thread.id, newer(thread, known) ? thread : known];
    }));
    this.localNumber = result.local_number || '';
    this.carrier = result.carrier;
    this.loaded = true;
    document.getElementById('sms-local-number').textContent = result.local_number_display || this.localNumber;
    this.paintNotices();
    this.setTotal(result.unread_total);
    this.renderList();
    if (this.openId) {
      const open = this.threads.get(this.openId);
      if (open) {
        this.view.update(open);
        this.view.catchUp();
      } else {
        this.closeThread({ status: 'That conversation is no longer available.' });
      }
    }
    this.view.composer.retryFailed();
  }

  paintNotices() {
    const hasNumber = Boolean(this.localNumber);
    document.getElementById('sms-no-number').hidden = hasNumber;
    document.getElementById('sms-local-notice').hidden = !hasNumber || this.carrier !== 'local';
    document.getElementById('sms-from').hidden = !hasNumber;
    this.newButton.hidden = !hasNumber;
    this.emptyNew.hidden = !hasNumber;
    document.getElementById('sms-empty-text').textContent = hasNumber
      ? 'Pick a conversation on the left, or text a number.'
      : 'SMS needs a direct number.';
  }

  sorted() {
    const at = (thread) => thread.last_message_at || '';
    return [...this.threads.values()].sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
  }

  renderList() {
    if (!this.loaded) return;
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#sms-list .sms-row');
    const threads = this.sorted();
    const empty = this.localNumber ? [h('li', { class: 'list-empty' }, 'No texts yet. Start one with New SMS.')] : [];
    this.list.replaceChildren(...(threads.length
      ? threads.map((thread) => threadRow(thread, {
        selected: thread.id === this.openId,
        onOpen: (chosen) => this.open(chosen.id, { focusComposer: true }),
        onKey: (event) => this.entryKey(event),
      }))
      : empty));
    if (focused && !focused.isConnected) {
      const again = this.list.querySelector(`.sms-row[data-thread-id="${CSS.escape(focused.dataset.threadId)}"] .sms-entry`);
      if (again) again.focus();
    }
  }

  // Up and Down move between the threads.
  entryKey(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const entries = [...this.list.querySelectorAll('.sms-entry')];
    const next = entries[entries.indexOf(event.target.closest('.sms-entry')) + (event.key === 'ArrowDown' ? 1 : -1)];
    event.preventDefault();
    if (next) next.focus();
  }

  setTotal(total) {
    const count = Math.max(0, Number(total) || 0);
    this.unreadTotal = count;
    this.badge.hidden = !count;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.badge.setAttribute('aria-label', `${count} unread text message${count === 1 ? '' : 's'}`);
  }

  sumUnread() {
    this.setTotal([...this.threads.values()].reduce((sum, thread) => sum + (thread.unread_count || 0), 0));
  }

  // ---- opening ----

  async open(id, { focusComposer = false } = {}) {
    let thread = this.threads.get(id);
    if (!thread) {
      try {
        thread = await api('GET', `sms/threads/${id}/`);
      } catch {
        this.view.announce('That conversation is no longer available.');
        return;
      }
      this.upsert(thread);
    }
    this.openId = id;
    this.renderList();
    this.paintLayout();
    const opening = this.view.open(thread);
    if (focusComposer && !thread.opted_out && this.localNumber) this.view.composer.focus();
    await opening;
  }

  closeThread({ focusList = false, status = '' } = {}) {
    const id = this.openId;
    this.openId = null;
    this.view.close();
    this.renderList();
    this.paintLayout();
    if (status) this.view.announce(status);
    if (focusList) {
      const entry = id && this.list.querySelector(`.sms-row[data-thread-id="${CSS.escape(id)}"] .sms-entry`);
      (entry || document.getElementById('sms-title')).focus();
    }
  }

  // Narrow windows show the list or the open thread, not both.
  paintLayout() {
    const open = Boolean(this.openId);
    this.pane.classList.toggle('has-open', open);
    this.conversationPane.classList.toggle('has-open', open);
  }

  // ---- New SMS ----

  openNew() {
    if (!this.localNumber) return;
    showError(this.newError, '');
    this.toInput.value = '';
    this.dialog.showModal();
    this.toInput.focus();
  }

  // Opens the thread with `to` (any way of writing a number: the server reads it), creating it
  // if need be. A refusal shows under the To field and changes nothing.
  async start(to) {
    if (!to.trim()) {
      showError(this.newError, 'Enter the cellphone number to text.');
      this.toInput.focus();
      return;
    }
    let thread;
    try {
      thread = await api('POST', 'sms/threads/', { to });
    } catch (error) {
      showError(this.newError, (error.errors && error.errors.to && error.errors.to.join(' ')) || (error.describe ? error.describe() : 'TOC could not be reached. Try again.'));
      this.toInput.focus();
      return;
    }
    if (this.dialog.open) this.dialog.close();
    this.upsert(thread);
    await this.open(thread.id, { focusComposer: true });
  }

  // Text a number from elsewhere (a person's card): the SMS view opens on its thread, or New
  // SMS with the number and the server's reason why it can't be texted.
  async textNumber(number) {
    this.onShow();
    if (!this.loaded) await this.refresh();
    if (!this.localNumber) return;
    this.openNew();
    this.toInput.value = number;
    await this.start(number);
  }

  // ---- live events ----

  handleEvent(event) {
    switch (event.type) {
      case 'sms.message_created':
        this.messageCreated(event);
        break;
      case 'sms.message_updated':
        this.messageUpdated(event);
        break;
      case 'sms.thread_read':
        this.threadRead(event);
        break;
      case 'sms.thread_changed':
        this.upsert(event.thread);
        break;
      default:
        break;
    }
  }

  upsert(thread) {
    const earlier = this.threads.get(thread.id);
    if (!newer(thread, earlier)) return;
    this.threads.set(thread.id, thread);
    if (this.loaded) this.sumUnread();
    this.renderList();
    this.view.update(thread);
  }

  // A new message (live, or the answer to my own send: then without the thread).
  messageCreated({ thread, message }) {
    const known = this.threads.get(message.thread_id);
    if (thread) this.upsert(thread);
    else if (known && (known.last_message_at || '') < message.created_at) {
      this.upsert({
        ...known,
        last_message_at: message.created_at,
        last_message: { body: message.body, direction: message.direction, has_media: message.media.length > 0, created_at: message.created_at },
      });
    }
    this.view.receive(message);
    if (message.direction === 'inbound') this.notify(this.threads.get(message.thread_id) || thread, message);
  }

  messageUpdated({ message }) {
    this.view.receive(message);
  }

  // My read mark moved (here, or in another window).
  threadRead({ thread_id: threadId, unread_total: unreadTotal }) {
    const thread = this.threads.get(threadId);
    if (thread && thread.unread_count) {
      this.threads.set(threadId, { ...thread, unread_count: 0 });
      this.renderList();
      if (this.view.thread && this.view.thread.id === threadId) this.view.thread = this.threads.get(threadId);
    }
    if (typeof unreadTotal === 'number') this.setTotal(unreadTotal);
  }

  // A desktop notification for a text that came in while I look elsewhere (when Chat's
  // "Turn on" has allowed notifications).
  notify(thread, message) {
    if (!thread || !('Notification' in window) || Notification.permission !== 'granted') return;
    if (document.hasFocus() && this.visible && this.openId === thread.id) return;
    try {
      const notification = new Notification(threadName(thread), {
        body: previewOf({ last_message: { ...message, has_media: message.media.length > 0 } }), tag: `sms-${thread.id}`, icon: this.pane.dataset.icon,
      });
      notification.addEventListener('click', () => {
        window.focus();
        notification.close();
        this.onShow();
        this.open(thread.id, { focusComposer: true });
      });
    } catch {
      // notifications only from a service worker here: the badge still shows
    }
  }
}
