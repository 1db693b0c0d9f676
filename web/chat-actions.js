// What can be done to a message of the open conversation: React, Edit (in place: Enter saves,
// Escape cancels), Delete (after a confirmation) and Copy text, from the buttons shown on
// hover or focus, a right-click, or Shift+F10 / the Menu key on a focused message. Up and Down
// move between messages; Escape goes back to the composer.

import { api } from './api.js';
import { attachmentsOf, grow, PLAIN, textOf } from './chat-render.js';
import { h, showError } from './dom.js';
import { isContextMenuKey, PopupMenu } from './menu.js';

function describe(error, fallback) {
  return error && error.describe ? error.describe() : fallback;
}

export class MessageActions {
  // `view`: the ConversationView; `picker`: the EmojiPicker shared with the composer.
  constructor({ view, picker, confirm }) {
    this.view = view;
    this.picker = picker;
    this.confirm = confirm;
    this.menu = new PopupMenu(document.getElementById('chat-menu'));
    this.editing = null; // { sequence, editor, input, error, returnFocus }
    this.keyboardMenuAt = 0;
    view.el.list.addEventListener('keydown', (event) => this.key(event));
  }

  get error() {
    return this.view.el.error;
  }

  message(sequence) {
    return this.view.messages.get(Number(sequence));
  }

  closeAll() {
    this.menu.close({ restoreFocus: false });
    this.picker.close({ restoreFocus: false });
  }

  // ---- keyboard ----

  focusables() {
    return [...this.view.el.list.querySelectorAll(':scope > li.chat-message:not(.pending), :scope > li.chat-event')];
  }

  focusItem(item) {
    item.focus();
    item.scrollIntoView({ block: 'nearest' });
  }

  focusLast() {
    const items = this.focusables();
    if (!items.length) return false;
    this.focusItem(items[items.length - 1]);
    return true;
  }

  key(event) {
    const item = event.target.closest && event.target.closest('#chat-messages > li');
    if (!item || event.target.closest('.chat-editor')) return;
    if (isContextMenuKey(event) && item.matches('.chat-message:not(.pending):not(.deleted)')) {
      event.preventDefault();
      this.keyboardMenuAt = performance.now();
      const box = item.getBoundingClientRect();
      this.openMenu(this.message(item.dataset.sequence), {
        at: { x: box.left + 48, y: Math.min(box.bottom, window.innerHeight - 8) }, returnFocus: item,
      });
      return;
    }
    if (event.target !== item) return;
    const items = this.focusables();
    const at = items.indexOf(item);
    let next = null;
    if (event.key === 'ArrowDown') next = items[at + 1];
    else if (event.key === 'ArrowUp') next = items[at - 1];
    else if (event.key === 'Home' && event.ctrlKey) next = items[0];
    else if (event.key === 'End' && event.ctrlKey) next = items[items.length - 1];
    else if (event.key === 'Escape') {
      event.preventDefault();
      this.view.composer.focus();
      return;
    }
    if (next) {
      event.preventDefault();
      this.focusItem(next);
    } else if (event.key === 'ArrowUp' && at === 0) {
      this.view.loadOlder();
    }
  }

  contextMenu(event, sequence) {
    const message = this.message(sequence);
    if (!message || message.deleted_at || event.target.closest('a, audio, video, img, .chat-editor')) return;
    event.preventDefault();
    // The Menu key also fires contextmenu after its keydown, which opened the menu already.
    if (this.keyboardMenuAt && performance.now() - this.keyboardMenuAt < 500) return;
    this.openMenu(message, { at: { x: event.clientX, y: event.clientY }, returnFocus: this.view.itemAt(sequence) });
  }

  // ---- the menu ----

  openMenu(message, { at = null, button = null, returnFocus = null } = {}) {
    if (!message || message.deleted_at || !message.envelope) return;
    const mine = message.sender.user_id === this.view.meId;
    const text = textOf(message);
    this.menu.open([
      { name: 'react', label: 'React', glyph: 'smile-plus', action: () => this.pickReaction(message, this.reactAnchor(message)) },
      { name: 'edit', label: 'Edit', glyph: 'edit', hidden: !mine || message.envelope.format !== PLAIN, action: () => this.startEdit(message) },
      { name: 'copy', label: 'Copy text', glyph: 'copy', hidden: !text, action: () => this.copy(text) },
      { name: 'delete', label: 'Delete', glyph: 'trash', hidden: !mine, action: () => this.remove(message) },
    ], { at, button, returnFocus });
  }

  reactAnchor(message) {
    const item = this.view.itemAt(message.sequence);
    return (item && item.querySelector('.chat-message-actions .icon-button')) || item || this.view.el.list;
  }

  pickReaction(message, anchor) {
    this.picker.open(anchor, (emoji) => {
      const current = this.message(message.sequence) || message;
      const reaction = (current.reactions || []).find((entry) => entry.emoji === emoji);
      if (reaction && reaction.user_ids.includes(this.view.meId)) return; // there already
      this.react(current, emoji, true);
    });
  }

  async react(message, emoji, reacted) {
    showError(this.error, '');
    try {
      const updated = await api('PUT', `chat/messages/${message.id}/reactions/`, { emoji, reacted });
      this.view.replace(updated);
    } catch (error) {
      showError(this.error, `The reaction could not be ${reacted ? 'added' : 'removed'}. ${describe(error, '')}`.trim());
    }
  }

  async copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      this.view.announce('Copied.');
    } catch {
      showError(this.error, 'The text could not be copied: the browser did not allow it.');
    }
  }

  async remove(message) {
    const confirmed = await this.confirm({
      title: 'Delete this message?',
      text: 'It is deleted for everyone in the chat, who then see "This message was deleted."',
      action: 'Delete',
    });
    if (!confirmed) return;
    showError(this.error, '');
    try {
      await api('DELETE', `chat/messages/${message.id}/`);
    } catch (error) {
      showError(this.error, `The message could not be deleted. ${describe(error, '')}`.trim());
      return;
    }
    const current = this.message(message.sequence) || message;
    this.view.replace({ ...current, envelope: null, deleted_at: new Date().toISOString(), attachment_ids: [], reactions: [] });
    const item = this.view.itemAt(message.sequence);
    if (item) item.focus();
  }

  // My newest message that can be edited (Up in an empty composer).
  lastEditable() {
    const meId = this.view.meId;
    return this.view.sorted().reverse().find((message) => message.kind === 'message' && !message.deleted_at
      && message.envelope && message.envelope.format === PLAIN && message.sender.user_id === meId) || null;
  }

  // ---- editing in place ----

  editorFor(sequence) {
    return this.editing && this.editing.sequence === sequence ? this.editing.editor : null;
  }

  // A message was replaced: an edit of a message deleted meanwhile ends.
  replaced(message) {
    if (this.editing && this.editing.sequence === message.sequence && (message.deleted_at || !message.envelope)) this.editing = null;
  }

  startEdit(message, { returnFocus = null } = {}) {
    if (!message || message.deleted_at || message.sender.user_id !== this.view.meId || message.envelope.format !== PLAIN) return;
    this.cancelEdit({ restoreFocus: false });
    const input = h('textarea', { class: 'chat-edit-input', 'aria-label': 'Edit message', rows: '1', maxlength: '10000' });
    input.value = textOf(message);
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const editor = h('form', {
      class: 'chat-editor', novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        this.saveEdit();
      },
    }, input, error, h('div', { class: 'chat-editor-actions' },
      h('span', { class: 'note' }, 'Enter to save · Escape to cancel'),
      h('button', { type: 'button', class: 'button small-button', onclick: () => this.cancelEdit() }, 'Cancel'),
      h('button', { type: 'submit', class: 'button primary small-button' }, 'Save')));
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        this.cancelEdit();
      } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.saveEdit();
      }
    });
    input.addEventListener('input', () => grow(input));
    this.editing = { sequence: message.sequence, editor, input, error, returnFocus };
    this.view.put(message);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    grow(input);
    const item = this.view.itemAt(message.sequence);
    if (item) item.scrollIntoView({ block: 'nearest' });
  }

  cancelEdit({ restoreFocus = true } = {}) {
    const editing = this.editing;
    if (!editing) return;
    this.editing = null;
    const message = this.message(editing.sequence);
    if (message && this.view.itemAt(editing.sequence)) this.view.put(message);
    if (restoreFocus) this.refocus(editing);
  }

  refocus(editing) {
    const target = (editing.returnFocus && editing.returnFocus.isConnected ? editing.returnFocus : null) || this.view.itemAt(editing.sequence);
    if (target) target.focus();
  }

  async saveEdit() {
    const editing = this.editing;
    if (!editing) return;
    const message = this.message(editing.sequence);
    const text = this.view.composer.expand(editing.input.value).trim();
    if (text === textOf(message).trim()) {
      this.cancelEdit();
      return;
    }
    if (!text && !attachmentsOf(message).length) {
      this.cancelEdit({ restoreFocus: false });
      this.remove(message);
      return;
    }
    showError(editing.error, '');
    let updated;
    try {
      updated = await api('PATCH', `chat/messages/${message.id}/`, { envelope: { format: PLAIN, payload: { ...message.envelope.payload, text } } });
    } catch (error) {
      if (this.editing === editing) showError(editing.error, `Not saved. ${describe(error, 'Try again.')}`);
      return;
    }
    if (this.editing !== editing) return;
    this.editing = null;
    this.view.replace(updated);
    this.refocus(editing);
  }
}
