// The SMS composer and outbox. Enter sends, Shift+Enter starts a new line; pictures (JPEG, PNG,
// GIF, 5 MB in all, 10 at most) wait as removable chips; a live counter tells the encoding, the
// characters and how many SMS the text takes (sms-segments.js, the server's rule). A message
// shows at once as "Sending…" and is POSTed with a fresh client_id; the sends of one thread go
// one at a time, in order. A lost connection, server trouble, an expired session, 408 or 429
// keeps it as "Not sent — Retry" (the same client_id: the server answers with the message it
// stored, never a second one; a reconnect retries by itself). Any other refusal puts the text
// and the pictures back into the composer with the server's reason. Drafts are kept per thread
// (their text in sessionStorage too), so nothing typed is lost.

import { api, ApiError, session } from './api.js';
import { formatBytes } from './chat-attachments.js';
import { grow } from './chat-render.js';
import { h, icon, showError } from './dom.js';
import { countSegments, firstUnicodeChar } from './sms-segments.js';

const TYPES = new Set(['image/jpeg', 'image/png', 'image/gif']);
const MAX_BYTES = 5 * 1024 * 1024;
const MAX_PICTURES = 10;
const MAX_CHARS = 1600;
const DRAFTS_KEY = 'toc.sms.drafts'; // {thread id: text}

function describe(error) {
  if (error instanceof ApiError) return error.describe();
  return 'The connection to TOC was lost.';
}

// Why a text waits for Retry, in a few words.
function waitReason(error) {
  if (!(error instanceof ApiError)) return 'no connection';
  if (error.signedOut) return 'signed out';
  if (error.status >= 500) return 'TOC had a problem';
  return error.describe();
}

// Whether trying again later may work: no connection, server trouble, signed out, too many.
function isRetryable(error) {
  if (!(error instanceof ApiError)) return true;
  return error.signedOut || error.status >= 500 || error.status === 408 || error.status === 429;
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export class SmsComposer {
  // `view` is the ThreadView (the open thread, where pending messages show);
  // `onMessage(message)` hears of each message stored.
  constructor({ view, onMessage }) {
    this.view = view;
    this.onMessage = onMessage;
    this.files = []; // [{ file, url }] waiting in the composer
    this.drafts = new Map(); // thread id -> { text, files }
    this.outbox = new Map(); // thread id -> [item] not stored yet
    this.queues = new Map(); // thread id -> the promise of its last send
    this.spoken = '';
    this.tooLong = false; // the error shown is "too long": it goes once the text fits
    this.form = document.getElementById('sms-composer');
    this.input = document.getElementById('sms-input');
    this.send = document.getElementById('sms-send-button');
    this.attach = document.getElementById('sms-attach-button');
    this.fileInput = document.getElementById('sms-file-input');
    this.pending = document.getElementById('sms-pending');
    this.error = document.getElementById('sms-composer-error');
    this.counter = document.getElementById('sms-counter');
    this.counterStatus = document.getElementById('sms-counter-status');
    this.loadDrafts();
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener('input', () => this.typed());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.altKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.attach.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = '';
    });
    this.input.addEventListener('paste', (event) => {
      const files = [...(event.clipboardData ? event.clipboardData.files : [])];
      if (!files.length) return;
      event.preventDefault();
      this.addFiles(files);
    });
    // Pictures dropped anywhere on the open thread join the composer.
    const pane = document.getElementById('sms-thread');
    const carriesFiles = (event) => Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes('Files');
    pane.addEventListener('dragover', (event) => {
      if (carriesFiles(event)) event.preventDefault();
    });
    pane.addEventListener('drop', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      this.addFiles([...event.dataTransfer.files]);
    });
    window.addEventListener('online', () => this.retryFailed());
    window.addEventListener('beforeunload', (event) => {
      if (!session.expired && [...this.outbox.values()].some((items) => items.length)) event.preventDefault();
    });
  }

  get threadId() {
    return this.view.thread ? this.view.thread.id : null;
  }

  focus() {
    this.input.focus();
  }

  // ---- drafts ----

  loadDrafts() {
    try {
      const stored = JSON.parse(sessionStorage.getItem(DRAFTS_KEY) || '{}');
      for (const [id, text] of Object.entries(stored || {})) if (typeof text === 'string') this.drafts.set(id, { text, files: [] });
    } catch {
      // no storage: drafts live in this page only
    }
  }

  saveDrafts() {
    const texts = {};
    for (const [id, draft] of this.drafts) if (draft.text.trim()) texts[id] = draft.text;
    try {
      if (Object.keys(texts).length) sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(texts));
      else sessionStorage.removeItem(DRAFTS_KEY);
    } catch {
      // full or unavailable
    }
  }

  keepDraft(threadId, text, files) {
    if (text.trim() || files.length) this.drafts.set(threadId, { text, files });
    else this.drafts.delete(threadId);
    this.saveDrafts();
  }

  opened(thread) {
    const draft = this.drafts.get(thread.id) || { text: '', files: [] };
    this.input.value = draft.text;
    this.files = [...draft.files];
    showError(this.error, '');
    grow(this.input);
    this.paintFiles();
    this.paintCounter();
    this.paintSend();
  }

  left(thread) {
    this.keepDraft(thread.id, this.input.value, this.files);
    this.files = [];
  }

  // Whether sending is possible here: a number to send from, and a thread that has not opted out.
  paint(thread, { localNumber }) {
    const blocked = Boolean(thread.opted_out);
    this.form.hidden = !localNumber;
    this.input.disabled = blocked;
    this.attach.disabled = blocked;
    this.input.placeholder = blocked ? 'This number opted out of texts' : 'Text message';
    this.paintSend();
  }

  paintSend() {
    const empty = !this.input.value.trim() && !this.files.length;
    this.send.disabled = !this.threadId || empty || this.input.disabled;
  }

  typed() {
    if (this.tooLong && [...this.input.value.trim()].length <= MAX_CHARS) {
      this.tooLong = false;
      showError(this.error, '');
    }
    grow(this.input);
    this.paintSend();
    this.paintCounter();
    if (this.threadId) this.keepDraft(this.threadId, this.input.value, this.files);
  }

  // "24 / 160 · 1 SMS", "UCS-2 · 75 / 134 · 2 SMS", with pictures "MMS · 24 chars".
  paintCounter() {
    const text = this.input.value;
    const count = countSegments(text);
    const chars = [...text].length;
    let shown;
    let spoken;
    if (this.files.length) {
      shown = `MMS · ${plural(chars, 'char')}`;
      spoken = `Picture message (MMS), ${plural(chars, 'character')}.`;
    } else {
      const room = Math.max(count.segments, 1) * count.perSegment;
      const sms = `${count.segments} SMS`;
      shown = count.encoding === 'UCS-2' ? `UCS-2 · ${count.units} / ${room} · ${sms}` : `${count.units} / ${room} · ${sms}`;
      spoken = count.encoding === 'UCS-2' ? `${sms}, Unicode (UCS-2): 70 characters per SMS.` : `${sms}.`;
    }
    const unicode = count.encoding === 'UCS-2' && !this.files.length ? firstUnicodeChar(text) : '';
    this.counter.textContent = shown;
    this.counter.title = unicode
      ? `“${unicode}” is not in the GSM alphabet, so this text goes as Unicode (UCS-2): 70 characters per SMS, 67 when split.`
      : 'Characters used / what the SMS carry before one more is needed';
    this.counter.classList.toggle('over', chars > MAX_CHARS);
    if (chars > MAX_CHARS) spoken = `Too long: ${chars} characters, at most ${MAX_CHARS}.`;
    if (text && spoken !== this.spoken) this.counterStatus.textContent = spoken;
    this.spoken = text ? spoken : '';
  }

  // ---- pictures ----

  addFiles(files) {
    if (!this.threadId || this.input.disabled) return;
    const refused = files.filter((file) => !TYPES.has(file.type));
    const accepted = files.filter((file) => TYPES.has(file.type));
    const problems = [];
    if (refused.length) {
      problems.push(`Only JPEG, PNG and GIF pictures can be sent: ${refused.map((file) => file.name).join(', ')} ${refused.length === 1 ? 'was' : 'were'} not added.`);
    }
    const total = [...this.files, ...accepted.map((file) => ({ file }))].reduce((sum, entry) => sum + entry.file.size, 0);
    if (accepted.length && total > MAX_BYTES) {
      problems.push(`Pictures would add up to ${formatBytes(total)}; an MMS can carry 5 MB. Nothing was added.`);
    } else if (this.files.length + accepted.length > MAX_PICTURES) {
      problems.push(`An MMS can carry at most ${MAX_PICTURES} pictures. Nothing was added.`);
    } else {
      for (const file of accepted) this.files.push({ file, url: URL.createObjectURL(file) });
    }
    showError(this.error, problems.join(' '));
    this.paintFiles();
    this.typed();
  }

  removeFile(entry) {
    this.files = this.files.filter((candidate) => candidate !== entry);
    URL.revokeObjectURL(entry.url);
    this.paintFiles();
    this.typed();
    this.input.focus();
  }

  paintFiles() {
    this.pending.replaceChildren(...this.files.map((entry) => h('li', { class: 'sms-chip' },
      h('img', { src: entry.url, alt: '' }),
      h('span', { class: 'sms-chip-text' },
        h('span', { class: 'sms-chip-name', title: entry.file.name }, entry.file.name),
        h('span', { class: 'sms-chip-size' }, formatBytes(entry.file.size))),
      h('button', {
        type: 'button', class: 'icon-button sms-chip-remove', 'aria-label': `Remove ${entry.file.name}`, title: 'Remove',
        onclick: () => this.removeFile(entry),
      }, icon('x')))));
    this.pending.hidden = !this.files.length;
  }

  // ---- sending ----

  outboxFor(threadId) {
    if (!this.outbox.has(threadId)) this.outbox.set(threadId, []);
    return this.outbox.get(threadId);
  }

  submit() {
    const id = this.threadId;
    if (!id || this.input.disabled) return;
    const body = this.input.value.trim();
    if (!body && !this.files.length) return;
    const chars = [...body].length;
    if (chars > MAX_CHARS) {
      showError(this.error, `A message is at most ${MAX_CHARS} characters; this one has ${chars}.`);
      this.tooLong = true;
      return;
    }
    showError(this.error, '');
    const item = {
      client_id: newClientId(), thread_id: id, body, files: this.files, created_at: new Date().toISOString(), state: 'sending', reason: '',
    };
    this.input.value = '';
    this.files = [];
    this.keepDraft(id, '', []);
    grow(this.input);
    this.paintFiles();
    this.paintCounter();
    this.paintSend();
    this.queue(item);
  }

  queue(item) {
    const items = this.outboxFor(item.thread_id);
    if (!items.includes(item)) items.push(item);
    item.state = 'sending';
    this.view.paintPending(item);
    const previous = this.queues.get(item.thread_id) || Promise.resolve();
    this.queues.set(item.thread_id, previous.then(() => this.deliver(item)).catch((error) => console.error(error)));
  }

  // Sends `item` after every earlier one of its thread still waiting (a failed one goes again
  // first): if one of those cannot go yet, neither can this one, so the order holds.
  async deliver(item) {
    const items = this.outboxFor(item.thread_id);
    if (!items.includes(item)) return;
    for (const earlier of items.slice(0, items.indexOf(item))) {
      if (!(await this.post(earlier))) {
        item.state = 'failed';
        item.reason = 'an earlier text is not sent yet';
        this.view.paintPending(item);
        return;
      }
    }
    await this.post(item);
  }

  // One attempt; true once the item no longer waits (stored, refused or taken back).
  async post(item) {
    if (!this.outboxFor(item.thread_id).includes(item)) return true;
    item.state = 'sending';
    item.reason = '';
    this.view.paintPending(item);
    const form = new FormData();
    form.append('body', item.body);
    form.append('client_id', item.client_id);
    for (const { file } of item.files) form.append('media', file, file.name);
    let message;
    try {
      message = await api('POST', `sms/threads/${item.thread_id}/messages/`, form);
    } catch (error) {
      if (!this.outboxFor(item.thread_id).includes(item)) return true;
      if (!isRetryable(error)) {
        this.refused(item, error);
        return true;
      }
      item.state = 'failed';
      item.reason = waitReason(error);
      this.view.paintPending(item);
      return false;
    }
    this.resolve(item.client_id);
    this.onMessage(message);
    return true;
  }

  retry(item) {
    this.queue(item);
  }

  // After a reconnect, every text that could not be sent goes again (same client_id).
  retryFailed() {
    for (const items of this.outbox.values()) for (const item of items) if (item.state === 'failed') this.queue(item);
  }

  // The stored message arrived (the answer, or a live event): its pending copy goes.
  resolve(clientId) {
    for (const [threadId, items] of this.outbox) {
      const item = items.find((candidate) => candidate.client_id === clientId);
      if (!item) continue;
      items.splice(items.indexOf(item), 1);
      for (const { url } of item.files) URL.revokeObjectURL(url);
      if (threadId === this.threadId) this.view.removePending(clientId);
    }
  }

  // "Edit" on a text not sent: it leaves the outbox and goes back into the composer.
  edit(item) {
    this.takeBack(item, '');
  }

  // The server said no: the text and pictures go back where they were typed, with its reason.
  refused(item, error) {
    this.takeBack(item, `Not sent: ${describe(error)}`);
  }

  takeBack(item, reason) {
    const items = this.outboxFor(item.thread_id);
    if (items.includes(item)) items.splice(items.indexOf(item), 1);
    this.view.removePending(item.client_id);
    const join = (text, current) => (current.trim() ? `${text}\n${current}` : text);
    if (this.threadId === item.thread_id) {
      this.input.value = join(item.body, this.input.value);
      this.files = [...item.files, ...this.files];
      showError(this.error, reason);
      grow(this.input);
      this.paintFiles();
      this.typed();
      this.input.focus();
    } else {
      const draft = this.drafts.get(item.thread_id) || { text: '', files: [] };
      this.keepDraft(item.thread_id, join(item.body, draft.text), [...item.files, ...draft.files]);
      if (reason) this.view.announce(`A text was not sent and is back in its draft. ${reason}`);
    }
  }
}
