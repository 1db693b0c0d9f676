// The open conversation (the Chat view's content pane): its header (Call, Mute, Members), the
// message list (grouped by sender and day, scroll-back, live updates, the unread line, jumping
// to a search result), read marks, typing, and the message actions (react, edit, delete, copy).
// Sending and the composer are chat-composer.js. Chat (chat.js) owns the conversations and
// feeds this view the live events of the open one.

import { api } from './api.js';
import { MessageActions } from './chat-actions.js';
import { Composer } from './chat-composer.js';
import { patch, regroup } from './chat-layout.js';
import {
  conversationAvatar, conversationName, messageElement, otherMember, pendingElement, typingText,
} from './chat-render.js';
import { h, icon, showError } from './dom.js';
import { EmojiPicker } from './emoji.js';

const PAGE_SIZE = 50;
const TYPING_SHOW_MS = 6000;
const READ_DELAY_MS = 400;
const MAX_JUMP_PAGES = 40; // how far back a search result or the unread line is fetched
const BOTTOM_SLACK_PX = 48;
const TOP_LOAD_PX = 200;

function describe(error, fallback) {
  return error && error.describe ? error.describe() : fallback;
}

export class ConversationView {
  // getMe(), onCall(number, name), onMessage(message): a message I sent was stored;
  // onConversation(conversation): a newer copy from the server;
  // onRead(result): my read mark moved; onMembers(conversation); onBack(); confirm(options);
  // onTyping(conversationId): who is typing there changed; openMicrophone() for voice messages.
  constructor(callbacks) {
    Object.assign(this, callbacks);
    this.conversation = null;
    this.visible = false;
    this.loaded = false;
    this.messages = new Map(); // sequence -> Message
    this.early = []; // live messages that arrived while the first page was loading
    this.hasMore = false;
    this.older = null; // the older page being fetched (a promise)
    this.token = 0; // which open() the answers belong to
    this.unreadFrom = null; // the first sequence under the "New messages" line
    this.stickToBottom = true;
    this.typing = new Map(); // conversation id -> Map(user id -> { name, timer })
    this.readTimer = 0;
    this.catchingUp = false;
    this.catchUpAgain = false;
    this.el = Object.fromEntries(Object.entries({
      pane: 'chat-conversation', empty: 'chat-empty', thread: 'chat-thread', avatar: 'chat-header-avatar',
      title: 'chat-conversation-title', subtitle: 'chat-conversation-subtitle', call: 'chat-call-button',
      mute: 'chat-mute-button', members: 'chat-members-button', back: 'chat-back-button', scroller: 'chat-scroll',
      history: 'chat-history-status', list: 'chat-messages', pill: 'chat-new-pill', typing: 'chat-typing',
      error: 'chat-composer-error', dropName: 'chat-drop-name', status: 'chat-status',
    }).map(([key, id]) => [key, document.getElementById(id)]));
    const picker = new EmojiPicker();
    this.actions = new MessageActions({ view: this, picker, confirm: this.confirm });
    this.composer = new Composer({
      view: this, picker, getMe: () => this.getMe(), openMicrophone: this.openMicrophone, onMessage: (message) => this.onMessage(message),
    });
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
    scroller.addEventListener('keydown', (event) => {
      if (event.target === scroller && ['ArrowUp', 'ArrowDown', 'End'].includes(event.key) && this.actions.focusLast()) {
        event.preventDefault();
      }
    });
    this.el.pill.addEventListener('click', () => this.scrollToBottom());
    this.el.call.addEventListener('click', () => {
      const other = this.conversation && otherMember(this.conversation);
      if (other && other.extension) this.onCall(other.extension, other.name);
    });
    this.el.mute.addEventListener('click', () => this.toggleMute());
    this.el.members.addEventListener('click', () => this.onMembers(this.conversation));
    this.el.back.addEventListener('click', () => this.onBack());
    window.addEventListener('focus', () => this.markReadSoon());
    document.addEventListener('visibilitychange', () => this.markReadSoon());
  }

  get meId() {
    const me = this.getMe();
    return me ? me.id : null;
  }

  setVisible(visible) {
    this.visible = visible;
    if (visible) {
      this.markReadSoon();
      return;
    }
    this.actions.closeAll();
  }

  // ---- opening and closing ----

  // Shows `conversation`: its newest page, or back to `sequence` (a search result), or back to
  // the first unread message; then the read mark follows.
  async open(conversation, { sequence = null } = {}) {
    const same = this.conversation && this.conversation.id === conversation.id;
    if (!same) this.leave();
    this.conversation = conversation;
    this.el.empty.hidden = true;
    this.el.thread.hidden = false;
    this.paintHeader();
    if (same && this.loaded) {
      if (sequence) await this.jumpTo(sequence);
      this.markReadSoon();
      return;
    }
    this.token += 1;
    const token = this.token;
    Object.assign(this, { loaded: false, hasMore: false, older: null, early: [], stickToBottom: true });
    this.messages.clear();
    this.unreadFrom = conversation.unread_count > 0 ? conversation.last_read_sequence + 1 : null;
    this.el.list.replaceChildren();
    this.el.pill.hidden = true;
    this.el.history.textContent = 'Loading messages…';
    this.composer.opened(conversation);
    this.paintTyping();
    let page;
    try {
      page = await this.fetchPage({});
    } catch (error) {
      if (token === this.token) this.el.history.textContent = `Messages could not be loaded. ${describe(error, '')}`.trim();
      return;
    }
    if (token !== this.token) return;
    for (const message of page.results) this.messages.set(message.sequence, message);
    this.hasMore = page.has_more;
    this.loaded = true;
    this.renderAll();
    this.scrollToBottom();
    for (const message of this.early.splice(0)) this.receive(message);
    const target = sequence || this.unreadFrom;
    if (target) await this.loadBackTo(target, token);
    if (token !== this.token) return;
    if (this.unreadFrom && !this.itemAt(this.unreadFrom) && this.firstSequence() > this.unreadFrom) this.unreadFrom = null;
    this.regroup();
    if (sequence) this.reveal(sequence);
    else if (this.unreadFrom) this.showUnreadLine();
    this.fillViewport();
    this.markReadSoon();
  }

  // Before another conversation opens, or on close: keep the draft, drop what is transient.
  leave() {
    this.actions.cancelEdit({ restoreFocus: false });
    this.actions.closeAll();
    if (this.conversation) this.composer.left(this.conversation);
  }

  close() {
    this.leave();
    this.token += 1;
    this.conversation = null;
    this.loaded = false;
    this.messages.clear();
    this.el.list.replaceChildren();
    this.el.thread.hidden = true;
    this.el.empty.hidden = false;
  }

  // A newer copy of the open conversation (renamed, members, mute, read mark).
  update(conversation) {
    if (!this.conversation || this.conversation.id !== conversation.id) return;
    this.conversation = conversation;
    this.paintHeader();
    this.paintHistory();
  }

  paintHeader() {
    const conversation = this.conversation;
    const name = conversationName(conversation, this.meId);
    const other = conversation.kind === 'direct' ? otherMember(conversation) : null;
    // The list's copy names at most 20 members of a group: member_count is how many there are.
    const count = conversation.member_count ?? (conversation.members || []).length;
    this.el.title.textContent = name;
    this.el.avatar.replaceChildren(conversationAvatar(conversation, name));
    this.el.subtitle.textContent = conversation.kind === 'group'
      ? `Group · ${count} member${count === 1 ? '' : 's'}`
      : (other && other.extension ? `Ext. ${other.extension}` : 'Direct chat');
    this.el.call.hidden = !(other && other.extension);
    if (other && other.extension) this.el.call.title = `Call ${other.name} (${other.extension})`;
    this.el.members.hidden = conversation.kind !== 'group';
    this.el.members.setAttribute('aria-label', `Members (${count})`);
    this.el.members.querySelector('.chat-members-count').textContent = String(count);
    const muted = Boolean(conversation.is_muted);
    this.el.mute.replaceChildren(icon(muted ? 'bell' : 'bell-off'), h('span', { class: 'chat-header-label' }, muted ? 'Unmute' : 'Mute'));
    this.el.mute.title = muted ? 'Unmute: notify me of new messages here again' : 'Mute: no notifications for this chat';
    this.el.mute.dataset.muted = String(muted);
    this.el.dropName.textContent = name;
    this.composer.paintName(name);
  }

  async toggleMute() {
    const conversation = this.conversation;
    showError(this.el.error, '');
    try {
      const updated = await api('PUT', `chat/conversations/${conversation.id}/mute/`, { is_muted: !conversation.is_muted });
      this.onConversation(updated);
      this.announce(updated.is_muted ? 'Muted. You will not be notified of new messages here.' : 'Unmuted.');
    } catch (error) {
      showError(this.el.error, `The chat could not be ${conversation.is_muted ? 'unmuted' : 'muted'}. ${describe(error, '')}`.trim());
    }
  }

  announce(text) {
    this.el.status.textContent = '';
    this.el.status.textContent = text;
  }

  // ---- pages ----

  fetchPage({ before = null, after = null }) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (before !== null) query.set('before', String(before));
    if (after !== null) query.set('after', String(after));
    return api('GET', `chat/conversations/${this.conversation.id}/messages/?${query}`);
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => a.sequence - b.sequence);
  }

  firstSequence() {
    let first = Infinity;
    for (const sequence of this.messages.keys()) first = Math.min(first, sequence);
    return first === Infinity ? 0 : first;
  }

  lastSequence() {
    let last = 0;
    for (const sequence of this.messages.keys()) last = Math.max(last, sequence);
    return last;
  }

  // The older page, prepended without moving what the reader sees.
  loadOlder() {
    if (this.older || !this.hasMore || !this.loaded) return this.older || Promise.resolve();
    const token = this.token;
    this.el.history.textContent = 'Loading earlier messages…';
    this.older = this.fetchPage({ before: this.firstSequence() }).then((page) => {
      if (token !== this.token) return;
      const { scroller } = this.el;
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      const fresh = page.results.filter((message) => !this.messages.has(message.sequence));
      for (const message of fresh) this.messages.set(message.sequence, message);
      this.quietly(() => {
        this.el.list.prepend(...fresh.map((message) => this.element(message)));
        this.regroup();
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

  async loadBackTo(sequence, token) {
    for (let pages = 0; this.hasMore && this.firstSequence() > sequence && pages < MAX_JUMP_PAGES; pages += 1) {
      this.stickToBottom = false;
      await this.loadOlder();
      if (token !== this.token) return;
    }
  }

  // A short conversation does not scroll: fetch older pages until it does, or there are none.
  fillViewport() {
    const { scroller } = this.el;
    if (this.hasMore && scroller.scrollHeight <= scroller.clientHeight + TOP_LOAD_PX) {
      this.loadOlder().then(() => {
        if (this.hasMore && this.loaded) this.fillViewport();
      });
    }
  }

  async jumpTo(sequence) {
    await this.loadBackTo(sequence, this.token);
    this.reveal(sequence);
  }

  // After a reconnect: the messages sent meanwhile, then the newest page again for edits,
  // deletions and reactions made meanwhile.
  async catchUp() {
    if (!this.conversation) return;
    if (!this.loaded) {
      if (!this.older) this.open(this.conversation);
      return;
    }
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = true;
    const token = this.token;
    try {
      for (let more = true; more;) {
        const page = await this.fetchPage({ after: this.lastSequence() });
        if (token !== this.token) return;
        for (const message of page.results) this.receive(message);
        more = page.has_more && page.results.length > 0;
      }
      const newest = await this.fetchPage({});
      if (token !== this.token) return;
      for (const message of newest.results) {
        const known = this.messages.get(message.sequence);
        if (known && JSON.stringify(known) !== JSON.stringify(message)) this.put(message);
      }
    } catch {
      // the next reconnect tries again
    } finally {
      this.catchingUp = false;
    }
    if (this.catchUpAgain) {
      this.catchUpAgain = false;
      this.catchUp();
    }
  }

  // ---- the list's items ----

  element(message) {
    const { actions } = this;
    const item = messageElement(message, {
      meId: this.meId,
      editor: actions.editorFor(message.sequence),
      onReact: (target, emoji, reacted) => actions.react(target, emoji, reacted),
      onReactButton: (target, button) => actions.pickReaction(target, button),
      onMore: (target, button) => actions.openMenu(this.messages.get(target.sequence) || target, { button, returnFocus: this.itemAt(target.sequence) }),
    });
    if (message.kind === 'event') item.tabIndex = -1;
    else item.addEventListener('contextmenu', (event) => actions.contextMenu(event, message.sequence));
    return item;
  }

  pendingNode(item) {
    return pendingElement(item, {
      onRetry: (target) => this.composer.retry(target),
      onDiscard: (target) => this.composer.discard(target),
    });
  }

  renderAll() {
    const nodes = this.sorted().map((message) => this.element(message));
    for (const item of this.composer.outboxFor(this.conversation.id)) nodes.push(this.pendingNode(item));
    this.quietly(() => {
      this.el.list.replaceChildren(...nodes);
      this.regroup();
    });
    this.paintHistory();
  }

  paintHistory() {
    if (!this.loaded) return;
    const name = conversationName(this.conversation, this.meId);
    const group = this.conversation.kind === 'group';
    let text = '';
    if (!this.hasMore && !this.messages.size) text = group ? `No messages in ${name} yet. Say hello!` : `No messages yet. Say hello to ${name}!`;
    else if (!this.hasMore) text = group ? `This is the beginning of ${name}.` : `This is the beginning of your chat with ${name}.`;
    this.el.history.textContent = text;
  }

  itemAt(sequence) {
    return this.el.list.querySelector(`:scope > li[data-sequence="${sequence}"]`);
  }

  // Adds or replaces one message where it belongs.
  put(message) {
    this.messages.set(message.sequence, message);
    this.actions.replaced(message);
    const node = this.element(message);
    const old = this.itemAt(message.sequence);
    if (old) {
      const editor = this.actions.editorFor(message.sequence);
      const hadFocus = old.contains(document.activeElement) && !(editor && editor.contains(document.activeElement));
      if (editor || !patch(old, node)) {
        old.replaceWith(node);
        if (hadFocus) node.focus({ preventScroll: true });
      }
    } else {
      let after = null;
      for (const item of this.el.list.querySelectorAll(':scope > li[data-sequence]')) {
        if (Number(item.dataset.sequence) < message.sequence) after = item;
      }
      if (after) after.after(node);
      else this.el.list.prepend(node);
    }
    this.regroup();
  }

  // A whole page (opening, scrolling back) is not read out: only live changes are.
  quietly(change) {
    this.el.list.setAttribute('aria-live', 'off');
    change();
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.el.list.setAttribute('aria-live', 'polite'), 250);
  }

  regroup() {
    regroup(this.el.list, { unreadFrom: this.unreadFrom });
  }

  // ---- live changes ----

  // A new message of the open conversation (live, or the answer to my own send).
  receive(message) {
    if (!this.conversation || message.conversation_id !== this.conversation.id) return;
    if (!this.loaded) {
      this.early.push(message);
      return;
    }
    this.composer.resolve(message.client_id);
    const known = this.messages.get(message.sequence);
    if (known) {
      if (JSON.stringify(known) !== JSON.stringify(message)) this.put(message);
      return;
    }
    const last = this.lastSequence();
    if (last && message.sequence > last + 1) {
      this.catchUp(); // a gap: something was missed
      return;
    }
    const atBottom = this.stickToBottom;
    const mine = message.sender && message.sender.user_id === this.meId;
    if (!mine && message.kind === 'message') {
      this.stopTyping(this.conversation.id, message.sender.user_id);
      if (!this.isReading() && this.unreadFrom === null && message.sequence > this.conversation.last_read_sequence) {
        this.unreadFrom = message.sequence;
      }
    }
    this.put(message);
    this.paintHistory();
    if (mine || atBottom) this.scrollToBottom();
    else this.el.pill.hidden = false;
    this.markReadSoon();
  }

  // An edited or deleted message, or new reactions.
  replace(message) {
    if (!this.conversation || message.conversation_id !== this.conversation.id || !this.messages.has(message.sequence)) return;
    this.put(message);
  }

  // ---- scrolling ----

  scrolled() {
    const { scroller } = this.el;
    this.stickToBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < BOTTOM_SLACK_PX;
    if (this.stickToBottom) this.el.pill.hidden = true;
    if (scroller.scrollTop < TOP_LOAD_PX) this.loadOlder();
  }

  scrollToBottom() {
    const { scroller } = this.el;
    scroller.scrollTop = scroller.scrollHeight;
    this.stickToBottom = true;
    this.el.pill.hidden = true;
  }

  showUnreadLine() {
    const line = document.getElementById('chat-unread-line');
    if (!line) return;
    this.stickToBottom = false;
    const { scroller } = this.el;
    scroller.scrollTop = Math.max(0, line.offsetTop - scroller.offsetTop - 24);
    this.scrolled();
  }

  // Scrolls to a message and highlights it for a moment.
  reveal(sequence) {
    const item = this.itemAt(sequence);
    if (!item) {
      this.announce('That message is no longer in this conversation.');
      return;
    }
    this.stickToBottom = false;
    item.scrollIntoView({ block: 'center' });
    item.classList.remove('highlight');
    void item.offsetWidth; // restart the animation when the same message is found again
    item.classList.add('highlight');
    setTimeout(() => item.classList.remove('highlight'), 4000);
    item.focus({ preventScroll: true });
    this.scrolled();
  }

  // ---- read marks ----

  isReading() {
    return Boolean(this.visible && this.conversation && this.loaded && !this.el.pane.hidden
      && document.visibilityState === 'visible' && document.hasFocus());
  }

  markReadSoon() {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.markRead(), READ_DELAY_MS);
  }

  async markRead() {
    const conversation = this.conversation;
    if (!this.isReading()) return;
    const newest = this.lastSequence();
    if (!newest || newest <= (conversation.last_read_sequence || 0)) return;
    try {
      this.onRead(await api('POST', `chat/conversations/${conversation.id}/read/`, { sequence: newest }));
    } catch {
      // the next message or focus tries again
    }
  }

  // ---- typing ----

  typingEvent({ conversation_id: conversationId, user_id: userId, name }) {
    if (userId === this.meId) return;
    if (!this.typing.has(conversationId)) this.typing.set(conversationId, new Map());
    const people = this.typing.get(conversationId);
    const earlier = people.get(userId);
    if (earlier) clearTimeout(earlier.timer);
    people.set(userId, { name, timer: setTimeout(() => this.stopTyping(conversationId, userId), TYPING_SHOW_MS) });
    this.typingChanged(conversationId);
  }

  stopTyping(conversationId, userId) {
    const people = this.typing.get(conversationId);
    const entry = people && people.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    people.delete(userId);
    this.typingChanged(conversationId);
  }

  typingFor(conversationId) {
    const people = this.typing.get(conversationId);
    return people && people.size ? typingText([...people.values()].map((entry) => entry.name)) : '';
  }

  typingChanged(conversationId) {
    if (this.conversation && this.conversation.id === conversationId) this.paintTyping();
    this.onTyping(conversationId);
  }

  paintTyping() {
    this.el.typing.textContent = this.conversation ? this.typingFor(this.conversation.id) : '';
  }

}
