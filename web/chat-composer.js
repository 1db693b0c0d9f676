// The chat's composer and outbox. Enter sends, Shift+Enter starts a new line, Up in an empty box
// edits my last message, `:sm` offers emoji. A message shows at once as "Sending…" and goes out
// with a fresh client_id; sends of one conversation go one at a time, in order. A network error
// keeps it as "Not sent — Retry" (the same client_id, so the server never stores it twice; a
// reconnect retries by itself); a refusal (4xx) puts the text back with the server's reason.
// Attachments and voice messages are chat-media.js's ComposerMedia.

import { api, ApiError } from './api.js';
import { ComposerMedia } from './chat-media.js';
import { grow, PLAIN } from './chat-render.js';
import { h, showError } from './dom.js';
import { replaceShortcodes, shortcodeCompletion } from './emoji.js';

const MAX_TEXT = 10000;
const TYPING_EVERY_MS = 3000;

// A fresh client_id. randomUUID exists only on secure pages (https, localhost): elsewhere the
// same version-4 UUID is built from getRandomValues.
function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Composer {
  // `view` is the ConversationView (the open conversation and its list); `onMessage(message)`
  // hears of each message stored.
  constructor({ view, picker, getMe, openMicrophone, onMessage }) {
    this.view = view;
    this.picker = picker;
    this.getMe = getMe;
    this.onMessage = onMessage;
    this.outbox = new Map(); // conversation id -> [item] not yet stored
    this.queues = new Map(); // conversation id -> the promise of its last send
    this.drafts = new Map(); // conversation id -> text typed but not sent
    this.typingSentAt = 0;
    this.completion = null;
    this.form = document.getElementById('chat-composer');
    this.input = document.getElementById('chat-input');
    this.send = document.getElementById('chat-send-button');
    this.emojiButton = document.getElementById('chat-emoji-button');
    this.error = document.getElementById('chat-composer-error');
    this.suggestions = document.getElementById('chat-emoji-suggestions');
    this.media = new ComposerMedia({
      getConversationId: () => (this.view.conversation ? this.view.conversation.id : null),
      onVoiceMessage: (ref) => this.sendVoice(ref),
      onChange: () => this.paintSend(),
      ...(openMicrophone ? { openMicrophone } : {}),
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('input', () => this.typed());
    this.input.addEventListener('keydown', (event) => this.key(event));
    this.input.addEventListener('blur', () => this.closeCompletion());
    this.emojiButton.addEventListener('click', () => this.picker.open(this.emojiButton, (char) => this.insert(char)));
    this.suggestions.addEventListener('pointerdown', (event) => event.preventDefault()); // keep the caret
    window.addEventListener('online', () => this.retryFailed());
    window.addEventListener('beforeunload', (event) => {
      if ([...this.outbox.values()].some((items) => items.length)) event.preventDefault();
    });
  }

  get conversationId() {
    return this.view.conversation ? this.view.conversation.id : null;
  }

  focus() {
    this.input.focus();
  }

  // `:shortcode:` to emoji, the same way the server's catalogue names them.
  expand(text) {
    return replaceShortcodes(text);
  }

  opened(conversation) {
    this.input.value = this.drafts.get(conversation.id) || '';
    showError(this.error, '');
    this.closeCompletion();
    grow(this.input);
    this.paintSend();
  }

  left(conversation) {
    if (this.input.value.trim()) this.drafts.set(conversation.id, this.input.value);
    else this.drafts.delete(conversation.id);
    this.media.reset();
    this.closeCompletion();
  }

  paintName(name) {
    this.input.placeholder = `Message ${name}`;
  }

  paintSend() {
    const empty = !this.input.value.trim() && !this.media.pending().length;
    this.send.disabled = !this.conversationId || empty || this.media.isUploading();
  }

  // ---- typing ----

  typed() {
    grow(this.input);
    this.paintSend();
    this.complete();
    const id = this.conversationId;
    if (!id || !this.input.value.trim() || Date.now() - this.typingSentAt < TYPING_EVERY_MS) return;
    this.typingSentAt = Date.now();
    api('POST', `chat/conversations/${id}/typing/`).catch(() => {});
  }

  key(event) {
    if (this.completion && this.completionKey(event)) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === 'ArrowUp' && !this.input.value && !event.shiftKey) {
      const message = this.view.actions.lastEditable();
      if (!message) return;
      event.preventDefault();
      this.view.actions.startEdit(message, { returnFocus: this.input });
    }
  }

  insert(text) {
    const { input } = this;
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    input.setRangeText(text, start, end, 'end');
    input.focus();
    this.typed();
  }

  // ---- `:shortcode` completion ----

  complete() {
    const found = shortcodeCompletion(this.input.value, this.input.selectionStart ?? this.input.value.length);
    if (!found) {
      this.closeCompletion();
      return;
    }
    this.completion = { ...found, active: 0 };
    this.paintCompletion();
  }

  paintCompletion() {
    const { items, active } = this.completion;
    this.suggestions.replaceChildren(...items.map((entry, index) => h('li', {
      role: 'option', id: `chat-suggestion-${index}`, class: 'chat-suggestion', 'aria-selected': String(index === active),
      onclick: () => this.choose(index),
    }, h('span', { class: 'chat-suggestion-char', 'aria-hidden': 'true' }, entry.char), ` :${entry.shortcodes[0]}:`)));
    this.suggestions.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-activedescendant', `chat-suggestion-${active}`);
  }

  closeCompletion() {
    this.completion = null;
    this.suggestions.hidden = true;
    this.suggestions.replaceChildren();
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  completionKey(event) {
    const { items } = this.completion;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.completion.active = (this.completion.active + step + items.length) % items.length;
      this.paintCompletion();
      return true;
    }
    if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey) {
      event.preventDefault();
      this.choose(this.completion.active);
      return true;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.closeCompletion();
      return true;
    }
    return false;
  }

  choose(index) {
    const { start, end, items } = this.completion;
    this.closeCompletion();
    this.input.setRangeText(items[index].char, start, end, 'end');
    this.input.focus();
    this.typed();
  }

  // ---- sending ----

  outboxFor(conversationId) {
    if (!this.outbox.has(conversationId)) this.outbox.set(conversationId, []);
    return this.outbox.get(conversationId);
  }

  submit() {
    const id = this.conversationId;
    if (!id) return;
    this.closeCompletion();
    if (this.media.isUploading()) {
      showError(this.error, 'Wait until the files are uploaded (or remove them), then send.');
      return;
    }
    const text = this.expand(this.input.value).trim();
    const attachments = this.media.pending();
    if (!text && !attachments.length) return;
    if (text.length > MAX_TEXT) {
      showError(this.error, `A message can be at most 10,000 characters long; this one has ${text.length.toLocaleString()}.`);
      return;
    }
    showError(this.error, '');
    this.input.value = '';
    grow(this.input);
    this.drafts.delete(id);
    this.media.clear();
    this.paintSend();
    this.typingSentAt = 0;
    this.view.unreadFrom = null; // replying reads the conversation: the "New messages" line goes
    this.queue(this.item(id, text, attachments));
  }

  sendVoice(ref) {
    if (this.conversationId) this.queue(this.item(this.conversationId, '', [ref]));
  }

  item(conversationId, text, attachments) {
    const me = this.getMe();
    return {
      client_id: newClientId(),
      conversation_id: conversationId,
      state: 'sending',
      created_at: new Date().toISOString(),
      sender: { user_id: me.id, name: me.name },
      envelope: { format: PLAIN, payload: { text, attachments } },
      attachment_ids: attachments.map((ref) => ref.id),
    };
  }

  queue(item) {
    const items = this.outboxFor(item.conversation_id);
    if (!items.includes(item)) items.push(item);
    item.state = 'sending';
    this.paint(item);
    if (this.view.conversation && this.view.conversation.id === item.conversation_id) this.view.scrollToBottom();
    const previous = this.queues.get(item.conversation_id) || Promise.resolve();
    this.queues.set(item.conversation_id, previous.then(() => this.deliver(item)));
  }

  async deliver(item) {
    if (!this.outboxFor(item.conversation_id).includes(item)) return; // stored or discarded meanwhile
    let message;
    try {
      message = await api('POST', `chat/conversations/${item.conversation_id}/messages/`, {
        envelope: item.envelope, attachment_ids: item.attachment_ids, client_id: item.client_id,
      });
    } catch (error) {
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) this.refused(item, error);
      else {
        item.state = 'failed';
        this.paint(item);
      }
      return;
    }
    this.resolve(item.client_id);
    this.onMessage(message);
  }

  retry(item) {
    this.queue(item);
  }

  // After a reconnect, every message that could not be sent goes again.
  retryFailed() {
    for (const items of this.outbox.values()) {
      for (const item of items) if (item.state === 'failed') this.queue(item);
    }
  }

  discard(item) {
    this.drop(item);
    this.input.focus();
  }

  drop(item) {
    const items = this.outboxFor(item.conversation_id);
    if (items.includes(item)) items.splice(items.indexOf(item), 1);
    const node = this.view.el.list.querySelector(`:scope > li[data-client-id="${item.client_id}"]`);
    if (node) {
      node.remove();
      this.view.regroup();
    }
  }

  // The stored message arrived (answer or live event): the item in the outbox is done.
  resolve(clientId) {
    if (!clientId) return;
    for (const items of this.outbox.values()) {
      const item = items.find((candidate) => candidate.client_id === clientId);
      if (item) this.drop(item);
    }
  }

  // The server said no: the text goes back into the box with its reason.
  refused(item, error) {
    this.drop(item);
    const { text } = item.envelope.payload;
    const lost = item.attachment_ids.length ? ' Attach the files again.' : '';
    if (this.conversationId === item.conversation_id) {
      const current = this.input.value;
      this.input.value = current.trim() ? `${text}\n${current}` : text;
      grow(this.input);
      this.paintSend();
      showError(this.error, `Not sent: ${error.describe()}${lost}`);
      this.input.focus();
    } else if (text) {
      const draft = this.drafts.get(item.conversation_id);
      this.drafts.set(item.conversation_id, draft ? `${text}\n${draft}` : text);
    }
  }

  paint(item) {
    const { view } = this;
    if (!view.conversation || view.conversation.id !== item.conversation_id || !view.loaded) return;
    const node = view.pendingNode(item);
    const old = view.el.list.querySelector(`:scope > li[data-client-id="${item.client_id}"]`);
    if (old) old.replaceWith(node);
    else view.el.list.append(node);
    view.regroup();
  }
}
