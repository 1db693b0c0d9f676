// The Chat view (rail, Alt+3): the conversation list (newest activity first, unread counts,
// live), message search, New chat / New group, the unread badge and the window title, desktop
// notifications, and every `chat.*` live event (docs: the chat contract). The open conversation
// is chat-conversation.js. The list is loaded on every (re)connect, so the badge is live even
// when the view was never opened. Live events may arrive out of order (two server processes):
// a copy fetched from the server never undoes newer live news, an older read mark is ignored,
// and a message that skips a number has its conversation fetched again for the true counts.

import { api } from './api.js';
import { ConversationView } from './chat-conversation.js';
import { confirmDialog, MembersDialog, NewChatDialog } from './chat-dialogs.js';
import { conversationName, conversationRow, previewOf, searchResultElement } from './chat-render.js';
import { h } from './dom.js';
import { loadEmoji } from './emoji.js';
import { PopupMenu } from './menu.js';

const SEARCH_DELAY_MS = 250;
const RELOAD_DELAY_MS = 300; // a burst of changes to one conversation fetches it once
const NOTICE_DISMISSED = 'toc.chat.notifications-dismissed';

export class Chat {
  // `onCall(number, name)` dials through the softphone; `onShow()` switches to the Chat view
  // (a notification was clicked); `getMe()` is the signed-in user; `openMicrophone()` opens
  // the microphone for voice messages.
  constructor({ onCall, getMe, onShow, openMicrophone }) {
    this.getMe = getMe;
    this.onShow = onShow;
    this.conversations = new Map();
    this.unreadTotal = 0;
    this.loaded = false;
    this.loads = 0;
    this.searches = 0;
    this.searchTimer = 0;
    this.reloadTimers = new Map(); // conversation id -> timer of its coming reload
    this.visible = false;
    this.openId = null;
    this.baseTitle = document.title;
    this.pane = document.getElementById('chat-view');
    this.conversationPane = document.getElementById('chat-conversation');
    this.list = document.getElementById('chat-list');
    this.results = document.getElementById('chat-search-results');
    this.search = document.getElementById('chat-search');
    this.badge = document.getElementById('chat-badge');
    this.status = document.getElementById('chat-status');
    this.notice = document.getElementById('chat-notify-notice');
    this.newButton = document.getElementById('chat-new-button');
    this.newMenu = new PopupMenu(document.getElementById('chat-new-menu'));
    this.newChat = new NewChatDialog({ getMe, onCreated: (conversation) => this.created(conversation) });
    this.members = new MembersDialog({
      getMe,
      onConversation: (conversation) => this.upsert(conversation),
      onLeft: (id) => this.removeConversation(id, 'You left the group.'),
    });
    this.view = new ConversationView({
      getMe,
      onCall,
      openMicrophone,
      confirm: confirmDialog,
      onMessage: (message) => this.messageSent(message),
      onConversation: (conversation) => this.upsert(conversation),
      onRead: (result) => this.readChanged(result),
      onMembers: (conversation) => this.members.open(conversation),
      onBack: () => this.closeConversation({ focusList: true }),
      onTyping: () => this.renderList(),
    });
    this.wire();
  }

  wire() {
    this.newButton.addEventListener('click', () => this.newMenu.open([
      { name: 'new-chat', label: 'New chat', glyph: 'message-square', action: () => this.newChat.open('direct') },
      { name: 'new-group', label: 'New group', glyph: 'users', action: () => this.newChat.open('group') },
    ], { button: this.newButton }));
    document.getElementById('chat-empty-new').addEventListener('click', () => this.newChat.open('direct'));
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.runSearch(), SEARCH_DELAY_MS);
    });
    this.search.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.search.value) {
        event.preventDefault();
        event.stopPropagation();
        this.search.value = '';
        this.runSearch();
      } else if (event.key === 'ArrowDown') {
        const first = this.visibleEntries()[0];
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    this.results.addEventListener('keydown', (event) => this.entryKey(event));
    document.getElementById('chat-notify-on').addEventListener('click', () => this.askForNotifications());
    document.getElementById('chat-notify-dismiss').addEventListener('click', () => {
      try {
        localStorage.setItem(NOTICE_DISMISSED, '1');
      } catch {
        // without storage it comes back next time
      }
      this.paintNotice();
    });
  }

  get meId() {
    const me = this.getMe();
    return me ? me.id : null;
  }

  show() {
    this.visible = true;
    this.view.setVisible(true);
    if (!this.loaded) this.refresh();
    this.paintNotice();
    this.paintLayout();
    loadEmoji().catch(() => {}); // :shortcodes: work once the catalogue is in
  }

  hide() {
    this.visible = false;
    this.view.setVisible(false);
    this.newMenu.close({ restoreFocus: false });
  }

  // Alt+3: straight to the composer of the open chat, else to the list.
  focus() {
    if (this.openId && !this.view.el.thread.hidden) this.view.composer.focus();
    else (this.visibleEntries()[0] || this.search).focus();
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  // ---- the list ----

  // After every (re)connect: the conversations and the unread total; the open one catches up.
  async refresh() {
    this.loads += 1;
    const load = this.loads;
    let result;
    try {
      result = await api('GET', 'chat/conversations/');
    } catch {
      if (load === this.loads && !this.loaded) this.list.replaceChildren(h('li', { class: 'list-empty' }, 'Chat is unavailable right now.'));
      return;
    }
    if (load !== this.loads) return;
    const earlier = this.conversations;
    this.conversations = new Map(result.results.map((conversation) => {
      if (earlier.has(conversation.id)) this.keepNewer(conversation, earlier.get(conversation.id));
      return [conversation.id, conversation];
    }));
    this.loaded = true;
    this.setTotal([...this.conversations.values()].reduce((sum, conversation) => sum + (conversation.unread_count || 0), 0));
    this.renderList();
    if (this.openId) {
      const open = this.conversations.get(this.openId);
      if (open) {
        this.view.update(open);
        this.members.update(open);
        this.view.catchUp();
      } else {
        this.closeConversation({ status: 'That chat is no longer available.' });
      }
    }
    this.view.composer.retryFailed();
  }

  sorted() {
    const at = (conversation) => conversation.last_message_at || conversation.created_at || '';
    return [...this.conversations.values()].sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
  }

  renderList() {
    if (!this.loaded) return;
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#chat-list .chat-row');
    const conversations = this.sorted();
    this.list.replaceChildren(...(conversations.length
      ? conversations.map((conversation) => conversationRow(conversation, {
        meId: this.meId,
        selected: conversation.id === this.openId,
        typing: this.view.typingFor(conversation.id),
        onOpen: (chosen) => this.open(chosen.id, { focusComposer: true }),
        onKey: (event) => this.entryKey(event),
      }))
      : [h('li', { class: 'list-empty' }, 'No chats yet. Start one with New chat.')]));
    if (focused && !focused.isConnected) {
      const again = this.list.querySelector(`.chat-row[data-conversation-id="${focused.dataset.conversationId}"] .chat-entry`);
      if (again) again.focus();
    }
  }

  visibleEntries() {
    return [...(this.results.hidden ? this.list : this.results).querySelectorAll('.chat-entry')];
  }

  // Up and Down move between the chats (or results); Up from the first goes to the search.
  entryKey(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const entries = this.visibleEntries();
    const at = entries.indexOf(event.target.closest('.chat-entry'));
    const next = entries[at + (event.key === 'ArrowDown' ? 1 : -1)];
    event.preventDefault();
    if (next) next.focus();
    else if (event.key === 'ArrowUp') this.search.focus();
  }

  // ---- the badge and the title ----

  setTotal(total) {
    this.unreadTotal = Math.max(0, total);
    const count = this.unreadTotal;
    this.badge.hidden = !count;
    this.badge.textContent = count > 99 ? '99+' : String(count);
    this.badge.setAttribute('aria-label', `${count} unread chat message${count === 1 ? '' : 's'}`);
    document.title = count ? `(${count}) ${this.baseTitle}` : this.baseTitle;
  }

  // ---- opening ----

  async open(id, { sequence = null, focusComposer = false } = {}) {
    let conversation = this.conversations.get(id);
    if (!conversation) {
      conversation = await this.reload(id);
      if (!conversation) {
        this.announce('That chat is no longer available.');
        return;
      }
    }
    this.openId = id;
    this.renderList();
    this.paintLayout();
    const opening = this.view.open(conversation, { sequence });
    if (focusComposer && !sequence) this.view.composer.focus();
    await opening;
  }

  closeConversation({ focusList = false, status = '' } = {}) {
    const id = this.openId;
    this.openId = null;
    this.view.close();
    this.renderList();
    this.paintLayout();
    if (status) this.announce(status);
    if (focusList) {
      const entry = this.list.querySelector(`.chat-row[data-conversation-id="${id}"] .chat-entry`);
      (entry || this.search).focus();
    }
  }

  created(conversation) {
    this.upsert(conversation);
    if (this.search.value) {
      this.search.value = '';
      this.runSearch();
    }
    this.open(conversation.id, { focusComposer: true });
  }

  // Narrow windows show the list or the open chat, not both.
  paintLayout() {
    const open = Boolean(this.openId);
    this.pane.classList.toggle('has-open', open);
    this.conversationPane.classList.toggle('has-open', open);
  }

  announce(text) {
    this.status.textContent = '';
    this.status.textContent = text;
  }

  // ---- search ----

  nameOf(conversation) {
    const known = this.conversations.get(conversation.id);
    return conversationName(known || { ...conversation, members: [] }, this.meId);
  }

  async runSearch() {
    const query = this.search.value.trim();
    this.searches += 1;
    const search = this.searches;
    this.results.hidden = !query;
    this.list.hidden = Boolean(query);
    if (!query) {
      this.results.replaceChildren();
      return;
    }
    if (query.length < 2) {
      this.results.replaceChildren(h('li', { class: 'list-empty' }, 'Type at least 2 characters to search messages.'));
      return;
    }
    let found;
    try {
      found = await api('GET', `chat/search/?q=${encodeURIComponent(query)}`);
    } catch (error) {
      if (search === this.searches) this.results.replaceChildren(h('li', { class: 'list-empty' }, `Search is unavailable right now. ${error.describe ? error.describe() : ''}`.trim()));
      return;
    }
    if (search !== this.searches) return;
    const terms = query.split(/\s+/).filter(Boolean);
    const results = found.results || [];
    this.results.replaceChildren(...(results.length
      ? results.map((result) => searchResultElement(result, {
        terms, meId: this.meId, name: this.nameOf(result.conversation),
        onOpen: (chosen) => this.open(chosen.conversation.id, { sequence: chosen.message.sequence }),
      }))
      : [h('li', { class: 'list-empty' }, `No messages match "${query}".`)]));
    this.announce(results.length ? `${results.length} message${results.length === 1 ? '' : 's'} found.` : 'No messages found.');
  }

  // ---- live events ----

  handleEvent(event) {
    switch (event.type) {
      case 'chat.message_sent':
        this.messageSent(event.message);
        break;
      case 'chat.message_edited':
      case 'chat.message_deleted':
      case 'chat.reaction_changed':
        this.messageChanged(event.message);
        break;
      case 'chat.conversation_changed':
        this.conversationChanged(event.conversation_id);
        break;
      case 'chat.conversation_removed':
        this.removeConversation(event.conversation_id, 'You are no longer in that chat.');
        break;
      case 'chat.read_changed':
        this.readChanged(event);
        break;
      case 'chat.typing':
        this.view.typingEvent(event);
        break;
      default:
        break;
    }
  }

  // A new message: live, or one I sent from here (both may come; the second changes nothing).
  async messageSent(message) {
    let conversation = this.conversations.get(message.conversation_id);
    const known = Boolean(conversation);
    if (!known) {
      if (!this.loaded) return; // the list's first load has it
      conversation = await this.reload(message.conversation_id); // already counts this message
      if (!conversation) return;
    }
    const fromOther = message.kind === 'message' && message.sender && message.sender.user_id !== this.meId;
    const isNew = message.sequence > (conversation.last_sequence || 0);
    if (known && isNew) {
      // A number skipped: the messages between are late or missed, so counting here would
      // be wrong; the server's counts come with the conversation fetched again.
      const gap = message.sequence !== (conversation.last_sequence || 0) + 1;
      conversation.last_message = message;
      conversation.last_sequence = message.sequence;
      conversation.last_message_at = message.created_at;
      const reading = this.openId === conversation.id && this.view.isReading();
      if (gap) this.reloadSoon(conversation.id);
      else if (fromOther && message.sequence > conversation.last_read_sequence && !reading) {
        conversation.unread_count = (conversation.unread_count || 0) + 1;
        this.setTotal(this.unreadTotal + 1);
      }
    }
    if (fromOther) this.view.stopTyping(conversation.id, message.sender.user_id);
    this.renderList();
    if (this.openId === conversation.id) this.view.receive(message);
    if (fromOther && (isNew || !known)) this.notify(conversation, message);
  }

  messageChanged(message) {
    const conversation = this.conversations.get(message.conversation_id);
    if (!conversation) return;
    if (conversation.last_message && conversation.last_message.id === message.id) conversation.last_message = message;
    // A deleted unread message is no longer unread (the server counts it so too).
    const wasUnread = message.deleted_at && message.sender.user_id !== this.meId
      && message.sequence > conversation.last_read_sequence && conversation.unread_count > 0;
    if (wasUnread && !(this.deletedUnread ||= new Set()).has(message.id)) {
      this.deletedUnread.add(message.id);
      conversation.unread_count -= 1;
      this.setTotal(this.unreadTotal - 1);
    }
    this.renderList();
    if (this.openId === conversation.id) this.view.replace(message);
  }

  // Created, renamed, members or my mute changed. The open conversation (and the one whose
  // Members are shown) is fetched at once; any other once per burst, as in a large group every
  // member's window hears of every change.
  conversationChanged(id) {
    if (id === this.openId || this.members.shows(id)) {
      clearTimeout(this.reloadTimers.get(id));
      this.reloadTimers.delete(id);
      this.reload(id);
    } else {
      this.reloadSoon(id);
    }
  }

  reloadSoon(id) {
    clearTimeout(this.reloadTimers.get(id));
    this.reloadTimers.set(id, setTimeout(() => {
      this.reloadTimers.delete(id);
      this.reload(id);
    }, RELOAD_DELAY_MS));
  }

  // Fetches one conversation again (created, renamed, members, mute); null if I am not in it.
  async reload(id) {
    let conversation;
    try {
      conversation = await api('GET', `chat/conversations/${id}/`);
    } catch (error) {
      if (error.status === 404) this.removeConversation(id, this.openId === id ? 'You are no longer in that chat.' : '');
      return null;
    }
    this.upsert(conversation);
    return this.conversations.get(id) || null;
  }

  // A copy from the server may be older than what live events already told: the last message
  // and the read mark each keep the newer, and the unread count is the copy's only when it is
  // behind in neither (one behind in one and ahead in the other is fetched again).
  keepNewer(conversation, earlier) {
    const newest = (copy) => copy.last_sequence || 0;
    const read = (copy) => copy.last_read_sequence || 0;
    const behind = newest(earlier) > newest(conversation) || read(earlier) > read(conversation);
    const ahead = newest(conversation) > newest(earlier) || read(conversation) > read(earlier);
    if (newest(earlier) > newest(conversation)) {
      Object.assign(conversation, { last_message: earlier.last_message, last_sequence: earlier.last_sequence, last_message_at: earlier.last_message_at });
    }
    if (read(earlier) > read(conversation)) conversation.last_read_sequence = earlier.last_read_sequence;
    if (behind) {
      conversation.unread_count = earlier.unread_count;
      if (ahead) this.reloadSoon(conversation.id);
    }
  }

  upsert(conversation) {
    const earlier = this.conversations.get(conversation.id);
    if (earlier) this.keepNewer(conversation, earlier);
    this.conversations.set(conversation.id, conversation);
    this.setTotal(this.unreadTotal - (earlier ? earlier.unread_count || 0 : 0) + (conversation.unread_count || 0));
    this.renderList();
    this.view.update(conversation);
    this.members.update(conversation);
  }

  removeConversation(id, status = '') {
    const earlier = this.conversations.get(id);
    if (earlier) {
      this.conversations.delete(id);
      this.setTotal(this.unreadTotal - (earlier.unread_count || 0));
    }
    this.members.closeFor(id);
    if (this.openId === id) this.closeConversation({ status });
    else this.renderList();
  }

  // My read mark moved (here, or in another window). A mark not past the one known is old news
  // (events may overtake each other): the counts known since are newer. The total is the sum
  // of the conversations' counts, as the server's is.
  readChanged(change) {
    const conversation = this.conversations.get(change.conversation_id);
    if (!conversation) {
      if (!this.loaded && typeof change.unread_total === 'number') this.setTotal(change.unread_total);
      return;
    }
    if (change.last_read_sequence <= (conversation.last_read_sequence || 0)) return;
    const before = conversation.unread_count || 0;
    conversation.last_read_sequence = change.last_read_sequence;
    conversation.unread_count = change.unread_count;
    this.setTotal(this.unreadTotal - before + (change.unread_count || 0));
    // Messages past the new mark came meanwhile: whether the event's count has them is unknown.
    if ((conversation.last_sequence || 0) > change.last_read_sequence) this.reloadSoon(conversation.id);
    this.renderList();
  }

  // ---- desktop notifications ----

  notify(conversation, message) {
    if (conversation.is_muted || !('Notification' in window) || Notification.permission !== 'granted') return;
    if (document.hasFocus() && this.visible && this.openId === conversation.id) return;
    const name = conversationName(conversation, this.meId);
    const body = previewOf(message, { meId: this.meId, isGroup: conversation.kind === 'group' });
    try {
      const notification = new Notification(name, { body, tag: conversation.id, icon: this.pane.dataset.icon });
      notification.addEventListener('click', () => {
        window.focus();
        notification.close();
        this.onShow();
        this.open(conversation.id, { focusComposer: true });
      });
    } catch {
      // a browser that allows notifications only from a service worker: the badge still shows
    }
  }

  paintNotice() {
    let dismissed = false;
    try {
      dismissed = localStorage.getItem(NOTICE_DISMISSED) === '1';
    } catch {
      // no storage: show it
    }
    this.notice.hidden = dismissed || !('Notification' in window) || Notification.permission !== 'default';
  }

  async askForNotifications() {
    try {
      await Notification.requestPermission();
    } catch {
      // an old browser's callback form: the permission is read again below
    }
    this.paintNotice();
    this.announce(Notification.permission === 'granted' ? 'Desktop notifications are on.' : 'Desktop notifications stay off.');
  }
}
