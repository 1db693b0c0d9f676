// The open SMS conversation (the SMS view's content pane): its header (name, number, Call),
// the messages oldest to newest with day separators and scroll-back (`before`), live new
// messages and status changes, and the read mark. The composer and the outbox are
// sms-composer.js; Sms (sms.js) owns the thread list and feeds this view the open thread's
// live events. A status never moves backwards (the contract's order), so an update that
// arrives after a newer one changes nothing.

import { api } from './api.js';
import { dayLabel } from './chat-render.js';
import { h } from './dom.js';
import { SmsComposer } from './sms-composer.js';
import { messageElement, pendingElement, threadAvatar, threadName } from './sms-render.js';

const PAGE_SIZE = 50;
const READ_DELAY_MS = 400;
const BOTTOM_SLACK_PX = 48;
const TOP_LOAD_PX = 200;
const STATUS_ORDER = {
  outbox: 0, queued: 1, sending: 2, sent: 3, delivered: 4, undelivered: 4, failed: 4, not_sent: 4, received: 4,
};

function rank(message) {
  return STATUS_ORDER[message.status] ?? 0;
}

function byTime(a, b) {
  return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
}

export class ThreadView {
  // onCall(number, name); onRead({ thread_id, unread_total }): the server took my read mark;
  // onMessage(message): a message I sent was stored; onBack(); getState(): { localNumber }.
  constructor(callbacks) {
    Object.assign(this, callbacks);
    this.thread = null;
    this.visible = false;
    this.loaded = false;
    this.messages = new Map(); // id -> Message
    this.early = []; // live messages that came while the first page loaded
    this.hasMore = false;
    this.older = null;
    this.token = 0;
    this.stickToBottom = true;
    this.readTimer = 0;
    this.reading = false;
    this.el = Object.fromEntries(Object.entries({
      pane: 'sms-conversation', empty: 'sms-empty', thread: 'sms-thread', avatar: 'sms-header-avatar',
      title: 'sms-thread-title', subtitle: 'sms-thread-subtitle', call: 'sms-call-button', back: 'sms-back-button',
      optedOutTag: 'sms-header-opted-out', scroller: 'sms-scroll', history: 'sms-history-status', list: 'sms-messages',
      optedOut: 'sms-opted-out', status: 'sms-status',
    }).map(([key, id]) => [key, document.getElementById(id)]));
    this.composer = new SmsComposer({ view: this, onMessage: (message) => this.onMessage(message) });
    this.wire();
  }

  wire() {
    const { scroller, list } = this.el;
    scroller.addEventListener('scroll', () => this.scrolled());
    const keepBottom = new ResizeObserver(() => {
      if (this.stickToBottom) scroller.scrollTop = scroller.scrollHeight;
    });
    keepBottom.observe(list);
    keepBottom.observe(scroller);
    this.el.call.addEventListener('click', () => {
      if (this.thread) this.onCall(this.thread.remote_number, threadName(this.thread));
    });
    this.el.back.addEventListener('click', () => this.onBack());
    window.addEventListener('focus', () => this.markReadSoon());
    document.addEventListener('visibilitychange', () => this.markReadSoon());
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible) this.markReadSoon();
  }

  announce(text) {
    this.el.status.textContent = '';
    this.el.status.textContent = text;
  }

  // ---- opening and closing ----

  async open(thread) {
    const same = this.thread && this.thread.id === thread.id;
    if (!same && this.thread) this.composer.left(this.thread);
    this.thread = thread;
    this.el.empty.hidden = true;
    this.el.thread.hidden = false;
    this.paintHeader();
    if (same && this.loaded) {
      this.markReadSoon();
      return;
    }
    this.token += 1;
    const token = this.token;
    Object.assign(this, { loaded: false, hasMore: false, older: null, early: [], stickToBottom: true });
    this.messages.clear();
    this.el.list.replaceChildren();
    this.el.history.textContent = 'Loading messages…';
    this.composer.opened(thread);
    let page;
    try {
      page = await this.fetchPage(null);
    } catch (error) {
      if (token === this.token) this.el.history.textContent = `Messages could not be loaded. ${error.describe ? error.describe() : ''}`.trim();
      return;
    }
    if (token !== this.token) return;
    for (const message of page.messages) this.messages.set(message.id, message);
    this.hasMore = page.has_more;
    this.loaded = true;
    this.renderAll();
    this.scrollToBottom();
    for (const message of this.early.splice(0)) this.receive(message);
    this.fillViewport();
    this.markReadSoon();
  }

  close() {
    if (this.thread) this.composer.left(this.thread);
    this.token += 1;
    this.thread = null;
    this.loaded = false;
    this.messages.clear();
    this.el.list.replaceChildren();
    this.el.thread.hidden = true;
    this.el.empty.hidden = false;
  }

  // A newer copy of the open thread (its name, opted out, unread count).
  update(thread) {
    if (!this.thread || this.thread.id !== thread.id) return;
    const optedOutBefore = this.thread.opted_out;
    this.thread = thread;
    this.paintHeader();
    if (optedOutBefore !== thread.opted_out) {
      this.announce(thread.opted_out ? `${threadName(thread)} opted out of texts.` : `${threadName(thread)} can receive texts again.`);
    }
    this.markReadSoon();
  }

  paintHeader() {
    const { thread } = this;
    const name = threadName(thread);
    const number = thread.remote_display || thread.remote_number;
    this.el.title.textContent = name;
    this.el.subtitle.textContent = thread.name ? number : 'Not in your contacts';
    this.el.avatar.replaceChildren(threadAvatar(thread));
    this.el.call.title = `Call ${name} (${number})`;
    this.el.call.setAttribute('aria-label', `Call ${name}`);
    this.el.optedOutTag.hidden = !thread.opted_out;
    this.el.optedOut.hidden = !thread.opted_out;
    this.composer.paint(thread, this.getState());
  }

  // ---- pages ----

  fetchPage(before) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (before) query.set('before', before);
    return api('GET', `sms/threads/${this.thread.id}/messages/?${query}`);
  }

  sorted() {
    return [...this.messages.values()].sort(byTime);
  }

  loadOlder() {
    if (this.older || !this.hasMore || !this.loaded) return this.older || Promise.resolve();
    const token = this.token;
    const [oldest] = this.sorted();
    this.el.history.textContent = 'Loading earlier messages…';
    this.older = this.fetchPage(oldest ? oldest.id : null).then((page) => {
      if (token !== this.token) return;
      const { scroller } = this.el;
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      const fresh = page.messages.filter((message) => !this.messages.has(message.id));
      for (const message of fresh) this.messages.set(message.id, message);
      this.quietly(() => {
        this.el.list.prepend(...fresh.map((message) => messageElement(message)));
        this.placeDays();
      });
      this.hasMore = page.has_more && fresh.length > 0;
      this.paintHistory();
      if (!this.stickToBottom) scroller.scrollTop = scroller.scrollHeight - fromBottom;
    }, () => {
      if (token === this.token) this.el.history.textContent = 'Earlier messages could not be loaded. Scroll up to try again.';
    }).finally(() => {
      if (token === this.token) this.older = null;
    });
    return this.older;
  }

  // A short thread does not scroll: fetch older pages until it does, or there are none.
  fillViewport() {
    const { scroller } = this.el;
    if (this.hasMore && scroller.scrollHeight <= scroller.clientHeight + TOP_LOAD_PX) {
      this.loadOlder().then(() => {
        if (this.hasMore && this.loaded) this.fillViewport();
      });
    }
  }

  // After a reconnect: the newest page again, for messages and status changes missed meanwhile.
  async catchUp() {
    if (!this.thread) return;
    if (!this.loaded) {
      if (!this.older) this.open(this.thread);
      return;
    }
    const token = this.token;
    let page;
    try {
      page = await this.fetchPage(null);
    } catch {
      return; // the next reconnect tries again
    }
    if (token !== this.token) return;
    if (page.has_more && !page.messages.some((message) => this.messages.has(message.id))) {
      // More came meanwhile than one page holds: start again from the newest page, so the
      // history has no hole (older ones come back by scrolling up).
      this.composer.left(this.thread); // keeps what is being typed, which open() puts back
      this.loaded = false;
      this.open(this.thread);
      return;
    }
    for (const message of page.messages) this.receive(message);
  }

  // ---- the list's items ----

  renderAll() {
    const nodes = this.sorted().map((message) => messageElement(message));
    for (const item of this.composer.outboxFor(this.thread.id)) nodes.push(this.pendingNode(item));
    this.quietly(() => {
      this.el.list.replaceChildren(...nodes);
      this.placeDays();
    });
    this.paintHistory();
  }

  paintHistory() {
    if (!this.loaded) return;
    const name = threadName(this.thread);
    let text = '';
    if (!this.hasMore && !this.messages.size) text = `No messages yet. Send ${name} a text.`;
    else if (!this.hasMore) text = `This is the beginning of your texts with ${name}.`;
    this.el.history.textContent = text;
  }

  itemOf(id) {
    return this.el.list.querySelector(`:scope > li[data-message-id="${CSS.escape(id)}"]`);
  }

  pendingNode(item) {
    return pendingElement(item, {
      onRetry: (target) => this.composer.retry(target),
      onEdit: (target) => this.composer.edit(target),
    });
  }

  // Shows a message of mine on its way (new, or its state changed).
  paintPending(item) {
    if (!this.thread || this.thread.id !== item.thread_id || !this.loaded) return;
    const node = this.pendingNode(item);
    const old = this.el.list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(item.client_id)}"]`);
    if (old) old.replaceWith(node);
    else {
      this.el.list.append(node);
      this.scrollToBottom();
    }
    this.placeDays();
  }

  removePending(clientId) {
    const node = this.el.list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(clientId)}"]`);
    if (node) {
      node.remove();
      this.placeDays();
    }
  }

  // Adds or replaces one message where its time puts it (before the ones still on their way).
  put(message) {
    this.messages.set(message.id, message);
    const node = messageElement(message);
    const old = this.itemOf(message.id);
    if (old) {
      // Only the parts that changed are swapped (a status, a picture now downloaded), so a
      // screen reader hears the new status rather than the whole message again.
      old.className = node.className;
      old.dataset.status = node.dataset.status;
      for (const part of [...node.children]) {
        const same = old.querySelector(`:scope > .${part.classList[0]}`);
        if (!same) old.append(part);
        else if (same.outerHTML !== part.outerHTML) same.replaceWith(part);
      }
    } else {
      let before = this.el.list.querySelector(':scope > li.pending');
      for (const item of this.el.list.querySelectorAll(':scope > li[data-message-id]')) {
        if (item.dataset.at > message.created_at) {
          before = item;
          break;
        }
      }
      this.el.list.insertBefore(node, before);
    }
    this.placeDays();
  }

  // A separator before the first message of each day; none left where none belongs.
  placeDays() {
    let day = null;
    const keep = new Set();
    for (const item of [...this.el.list.children]) {
      if (item.classList.contains('sms-day')) continue;
      if (item.dataset.day !== day) {
        day = item.dataset.day;
        const previous = item.previousElementSibling;
        const separator = previous && previous.classList.contains('sms-day') && previous.dataset.day === day
          ? previous
          : h('li', { class: 'chat-day sms-day', dataset: { day } }, h('span', {}, dayLabel(item.dataset.at)));
        if (separator !== previous) item.before(separator);
        keep.add(separator);
      }
    }
    for (const node of this.el.list.querySelectorAll(':scope > .sms-day')) if (!keep.has(node)) node.remove();
  }

  // A whole page (opening, scrolling back) is not read out: only live changes are.
  quietly(change) {
    this.el.list.setAttribute('aria-live', 'off');
    change();
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.el.list.setAttribute('aria-live', 'polite'), 250);
  }

  // ---- live changes ----

  // A new message or a newer copy of one (live, my send's answer, a page fetched again).
  receive(message) {
    if (!this.thread || message.thread_id !== this.thread.id) return;
    if (!this.loaded) {
      this.early.push(message);
      return;
    }
    if (message.client_id) this.composer.resolve(message.client_id);
    const known = this.messages.get(message.id);
    if (known) {
      if (rank(message) >= rank(known) && JSON.stringify(known) !== JSON.stringify(message)) this.put(message);
      return;
    }
    const atBottom = this.stickToBottom;
    this.put(message);
    this.paintHistory();
    if (message.direction === 'outbound' || atBottom) this.scrollToBottom();
    this.markReadSoon();
  }

  // ---- scrolling ----

  scrolled() {
    const { scroller } = this.el;
    this.stickToBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < BOTTOM_SLACK_PX;
    if (this.stickToBottom) this.markReadSoon();
    if (scroller.scrollTop < TOP_LOAD_PX) this.loadOlder();
  }

  scrollToBottom() {
    const { scroller } = this.el;
    scroller.scrollTop = scroller.scrollHeight;
    this.stickToBottom = true;
  }

  // ---- read marks ----

  isReading() {
    return Boolean(this.visible && this.thread && this.loaded && !this.el.pane.hidden && !this.el.thread.hidden
      && document.visibilityState === 'visible' && document.hasFocus());
  }

  markReadSoon() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.markRead(), READ_DELAY_MS);
  }

  async markRead() {
    const { thread } = this;
    if (this.reading || !this.isReading() || !(thread.unread_count > 0)) return;
    this.reading = true;
    try {
      const result = await api('POST', `sms/threads/${thread.id}/read/`);
      this.onRead({ thread_id: thread.id, unread_total: result.unread_total });
    } catch {
      // the next message or focus tries again
    } finally {
      this.reading = false;
    }
  }
}
