// The chat's composer and outbox. Enter sends, Shift+Enter starts a new line, Up in an empty box
// edits my last message, `:sm` offers emoji. A message shows at once as "Sending…" and goes out
// with a fresh client_id; sends of one conversation go one at a time, in order, and none
// overtakes one that failed (that one is tried again first). A network error, server trouble,
// an expired session (401, or 403 for credentials), 408 or 429 keeps it as "Not sent — Retry"
// (the same client_id, so the server never stores it twice; a reconnect retries by itself);
// any other refusal (4xx) puts the text back with the server's reason. The outbox and the
// drafts live in sessionStorage too (per user), so a reload, or signing in again in the same
// tab, sends what was left. Attachments and recording voice messages are chat-media.js's
// ComposerMedia; a recorded voice message joins the outbox of the conversation it was recorded in.

import { api, ApiError, session } from './api.js';
import { ComposerMedia, upload, UploadError } from './chat-media.js';
import { grow, PLAIN } from './chat-render.js';
import { h, showError } from './dom.js';
import { replaceShortcodes, shortcodeCompletion } from './emoji.js';

const MAX_TEXT = 10000;
const TYPING_EVERY_MS = 3000;
const OUTBOX_KEY = 'toc.chat.outbox.'; // + my user id: [item], what was not stored yet
const DRAFTS_KEY = 'toc.chat.drafts.'; // + my user id: {conversation id: text}

// Whether the server refused the message itself (so trying again cannot help), as opposed to
// failing to take it now: connection, server, expired session, timeout, too many requests.
function isRefusal(error) {
  if (error instanceof UploadError) return !error.retryable;
  return error instanceof ApiError && error.status >= 400 && error.status < 500
    && !error.signedOut && error.status !== 408 && error.status !== 429;
}

function describe(error) {
  return error && error.describe ? error.describe() : String((error && error.message) || error);
}

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
    this.restoredFor = null; // the user whose stored outbox and drafts were read
    this.media = new ComposerMedia({
      getConversationId: () => (this.view.conversation ? this.view.conversation.id : null),
      onVoiceMessage: (recorded) => this.sendVoice(recorded),
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
    // Unsent messages survive a reload in sessionStorage, not closing the tab. Going to sign
    // in again keeps them for when this tab comes back.
    window.addEventListener('beforeunload', (event) => {
      if (!session.expired && [...this.outbox.values()].some((items) => items.length)) event.preventDefault();
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
    this.restore();
    this.input.value = this.drafts.get(conversation.id) || '';
    showError(this.error, '');
    this.closeCompletion();
    grow(this.input);
    this.paintSend();
  }

  left(conversation) {
    this.keepDraft(conversation.id, this.input.value);
    this.media.reset();
    this.closeCompletion();
  }

  keepDraft(conversationId, text) {
    if (text.trim()) this.drafts.set(conversationId, text);
    else this.drafts.delete(conversationId);
    this.save();
  }

  // ---- sessionStorage ----

  get meId() {
    const me = this.getMe();
    return me ? me.id : null;
  }

  // Once my id is known: what an earlier page of this tab left unsent goes out again (the
  // same client_ids), and its drafts come back.
  restore() {
    const meId = this.meId;
    if (meId === null || this.restoredFor === meId) return;
    this.restoredFor = meId;
    let items = [];
    let drafts = {};
    try {
      items = JSON.parse(sessionStorage.getItem(OUTBOX_KEY + meId) || '[]');
      drafts = JSON.parse(sessionStorage.getItem(DRAFTS_KEY + meId) || '{}');
    } catch {
      // no storage, or not ours to read: nothing to restore
    }
    for (const [id, text] of Object.entries(drafts || {})) {
      if (typeof text === 'string' && !this.drafts.has(id)) this.drafts.set(id, text);
    }
    for (const stored of Array.isArray(items) ? items : []) {
      if (!stored || !stored.client_id || !stored.conversation_id || !stored.envelope) continue;
      const known = [...this.outbox.values()].some((list) => list.some((item) => item.client_id === stored.client_id));
      if (!known) this.queue({ ...stored, attachment_ids: stored.attachment_ids || [], state: 'sending' });
    }
  }

  save() {
    const meId = this.meId;
    if (meId === null) return;
    if (this.restoredFor !== meId) this.restore(); // never overwrite what was not read yet
    const items = [];
    for (const list of this.outbox.values()) {
      for (const item of list) {
        if (item.upload) continue; // a recording not uploaded yet cannot be kept
        const { client_id, conversation_id, created_at, sender, envelope, attachment_ids } = item;
        items.push({ client_id, conversation_id, created_at, sender, envelope, attachment_ids });
      }
    }
    try {
      if (items.length) sessionStorage.setItem(OUTBOX_KEY + meId, JSON.stringify(items));
      else sessionStorage.removeItem(OUTBOX_KEY + meId);
      if (this.drafts.size) sessionStorage.setItem(DRAFTS_KEY + meId, JSON.stringify(Object.fromEntries(this.drafts)));
      else sessionStorage.removeItem(DRAFTS_KEY + meId);
    } catch {
      // full or unavailable: they stay in this page only
    }
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
    if (id) this.keepDraft(id, this.input.value);
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
    this.media.clear();
    this.paintSend();
    this.typingSentAt = 0;
    this.view.unreadFrom = null; // replying reads the conversation: the "New messages" line goes
    this.queue(this.item(id, text, attachments));
    this.keepDraft(id, '');
  }

  // A recorded voice message, for the conversation it was recorded in (maybe no longer open):
  // it uploads when its turn comes, then goes as its own message.
  sendVoice({ file, conversationId, durationSeconds }) {
    const item = this.item(conversationId, '', []);
    item.upload = { file, kind: 'voice', durationSeconds };
    this.queue(item);
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
    if (!items.includes(item)) {
      items.push(item);
      this.save();
    }
    item.state = 'sending';
    this.paint(item);
    if (this.view.conversation && this.view.conversation.id === item.conversation_id) this.view.scrollToBottom();
    const previous = this.queues.get(item.conversation_id) || Promise.resolve();
    this.queues.set(item.conversation_id, previous.then(() => this.deliver(item)).catch((error) => console.error(error)));
  }

  // Sends `item` after every earlier one of its conversation still waiting (a failed one is
  // tried again first): if one of those cannot go yet, neither can this one.
  async deliver(item) {
    const items = this.outboxFor(item.conversation_id);
    if (!items.includes(item)) return; // stored or discarded meanwhile
    for (const earlier of items.slice(0, items.indexOf(item))) {
      if (!(await this.post(earlier))) {
        item.state = 'failed';
        this.paint(item);
        return;
      }
    }
    await this.post(item);
  }

  // One attempt (uploading a voice message first); true once the item no longer waits: stored,
  // refused or discarded.
  async post(item) {
    if (!this.outboxFor(item.conversation_id).includes(item)) return true;
    item.state = 'sending';
    this.paint(item);
    let message;
    try {
      if (item.upload) await this.uploadVoice(item);
      message = await api('POST', `chat/conversations/${item.conversation_id}/messages/`, {
        envelope: item.envelope, attachment_ids: item.attachment_ids, client_id: item.client_id,
      });
    } catch (error) {
      if (!this.outboxFor(item.conversation_id).includes(item)) return true;
      if (isRefusal(error)) {
        this.refused(item, error);
        return true;
      }
      item.state = 'failed';
      this.paint(item);
      return false;
    }
    this.resolve(item.client_id);
    this.onMessage(message);
    return true;
  }

  async uploadVoice(item) {
    const { file, kind, durationSeconds } = item.upload;
    const ref = await upload({ conversationId: item.conversation_id, file, kind, durationSeconds, onProgress: () => {} }).promise;
    item.upload = null;
    item.envelope = { format: PLAIN, payload: { ...item.envelope.payload, attachments: [ref] } };
    item.attachment_ids = [ref.id];
    this.save();
    this.paint(item);
  }

  retry(item) {
    this.queue(item);
  }

  // After a reconnect, every message that could not be sent goes again (and, the first time
  // my id is known, what an earlier page of this tab left).
  retryFailed() {
    this.restore();
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
    if (items.includes(item)) {
      items.splice(items.indexOf(item), 1);
      this.save();
    }
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
    const voice = item.upload || (item.envelope.payload.attachments || []).some((ref) => ref && ref.kind === 'voice');
    const lost = voice ? ' Record the voice message again.' : item.attachment_ids.length ? ' Attach the files again.' : '';
    if (this.conversationId === item.conversation_id) {
      const current = this.input.value;
      this.input.value = current.trim() ? `${text}\n${current}` : text;
      grow(this.input);
      this.paintSend();
      this.keepDraft(item.conversation_id, this.input.value);
      showError(this.error, `Not sent: ${describe(error)}${lost}`);
      this.input.focus();
    } else if (text) {
      const draft = this.drafts.get(item.conversation_id);
      this.keepDraft(item.conversation_id, draft ? `${text}\n${draft}` : text);
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
