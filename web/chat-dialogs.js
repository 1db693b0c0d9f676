// The chat's dialogs: New chat (pick a colleague) and New group (a name and members), a
// group's Members (rename, add, remove, leave), and the confirmation before deleting or leaving.
// Colleagues come from the directory (GET /api/directory/); the server decides who may do what.
// The conversation list names at most 20 members of a group, so Members fetches the whole
// conversation when it opens and whenever it changes.

import { api } from './api.js';
import { conversationName } from './chat-render.js';
import { h, icon, initials, showError } from './dom.js';
import { personResult } from './people.js';

function describe(error, fallback) {
  return error && error.describe ? error.describe() : fallback;
}

async function colleagues(meId) {
  const entries = await api('GET', 'directory/');
  return entries
    .map((entry) => ({ ...entry, kind: 'colleague', id: entry.user_id ?? entry.id }))
    .filter((entry) => entry.id !== meId)
    .sort((a, b) => a.name.localeCompare(b.name));
}

function matching(entries, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return entries.filter((entry) => words.every((word) => entry.name.toLowerCase().split(/\s+/).some((part) => part.startsWith(word))
    || (entry.extension || '').startsWith(word) || (entry.email || '').toLowerCase().startsWith(word)));
}

// Up and Down from a search box into its results and between them.
function arrowKeys(input, results) {
  const buttons = () => [...results.querySelectorAll('button.transfer-result')];
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && buttons().length) {
      event.preventDefault();
      buttons()[0].focus();
    }
  });
  results.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const all = buttons();
    const at = all.indexOf(document.activeElement);
    event.preventDefault();
    const next = all[at + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) next.focus();
    else if (event.key === 'ArrowUp') input.focus();
  });
}

// "Delete this message?" and the like: resolves true when the user confirms.
export function confirmDialog({ title, text, action = 'OK' }) {
  const dialog = document.getElementById('chat-confirm-dialog');
  document.getElementById('chat-confirm-title').textContent = title;
  document.getElementById('chat-confirm-text').textContent = text;
  const ok = document.getElementById('chat-confirm-ok');
  ok.textContent = action;
  const returnFocus = document.activeElement;
  dialog.returnValue = '';
  dialog.showModal();
  ok.focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      resolve(dialog.returnValue === 'ok');
    }, { once: true });
  });
}

export class NewChatDialog {
  // `onCreated(conversation)` opens the chat that was made (or already existed).
  constructor({ getMe, onCreated }) {
    this.getMe = getMe;
    this.onCreated = onCreated;
    this.dialog = document.getElementById('chat-new-dialog');
    this.form = document.getElementById('chat-new-form');
    this.title = document.getElementById('chat-new-title');
    this.nameField = document.getElementById('chat-group-name');
    this.label = document.getElementById('chat-people-label');
    this.input = document.getElementById('chat-people-input');
    this.results = document.getElementById('chat-people-results');
    this.picked = document.getElementById('chat-picked');
    this.error = document.getElementById('chat-new-error');
    this.create = document.getElementById('chat-create-group');
    this.people = [];
    this.chosen = [];
    this.mode = 'direct';
    this.busy = false;
    this.input.addEventListener('input', () => this.paintResults());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.mode === 'group') this.createGroup();
    });
    document.getElementById('chat-new-cancel').addEventListener('click', () => this.dialog.close());
    arrowKeys(this.input, this.results);
  }

  async open(mode) {
    this.mode = mode;
    this.chosen = [];
    this.busy = false;
    this.dialog.dataset.mode = mode;
    this.title.textContent = mode === 'group' ? 'New group' : 'New chat';
    this.label.textContent = mode === 'group' ? 'Add people' : 'Chat with';
    this.nameField.value = '';
    this.input.value = '';
    showError(this.error, '');
    this.paintPicked();
    this.results.replaceChildren(h('li', { class: 'list-empty' }, 'Loading the directory…'));
    this.dialog.showModal();
    (mode === 'group' ? this.nameField : this.input).focus();
    try {
      const me = this.getMe();
      this.people = await colleagues(me ? me.id : null);
    } catch (error) {
      this.people = [];
      showError(this.error, `The directory could not be loaded. ${describe(error, '')}`.trim());
    }
    this.paintResults();
  }

  paintResults() {
    const chosenIds = new Set(this.chosen.map((entry) => entry.id));
    const found = matching(this.people, this.input.value.trim()).filter((entry) => !chosenIds.has(entry.id));
    this.results.replaceChildren(...(found.length
      ? found.map((entry) => personResult(entry, (chosen) => this.choose(chosen)))
      : [h('li', { class: 'list-empty' }, this.people.length ? 'Nobody matches.' : '')]));
  }

  paintPicked() {
    this.picked.replaceChildren(...this.chosen.map((entry) => h('li', { class: 'invitee', dataset: { userId: String(entry.id) } },
      h('span', {}, entry.name),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': `Remove ${entry.name}`, title: `Remove ${entry.name}`,
        onclick: () => {
          this.chosen = this.chosen.filter((other) => other.id !== entry.id);
          this.paintPicked();
          this.paintResults();
          this.input.focus();
        },
      }, icon('x')))));
    this.create.disabled = !this.chosen.length;
  }

  choose(entry) {
    if (this.mode === 'direct') {
      this.start({ kind: 'direct', user_id: entry.id });
      return;
    }
    this.chosen.push(entry);
    this.input.value = '';
    this.paintPicked();
    this.paintResults();
    this.input.focus();
  }

  createGroup() {
    if (!this.chosen.length) {
      showError(this.error, 'Add at least one person to the group.');
      this.input.focus();
      return;
    }
    this.start({ kind: 'group', name: this.nameField.value.trim(), member_ids: this.chosen.map((entry) => entry.id) });
  }

  async start(body) {
    if (this.busy) return;
    this.busy = true;
    showError(this.error, '');
    try {
      const conversation = await api('POST', 'chat/conversations/', body);
      this.dialog.close();
      this.onCreated(conversation);
    } catch (error) {
      showError(this.error, `The chat could not be started. ${describe(error, '')}`.trim());
    } finally {
      this.busy = false;
    }
  }
}

export class MembersDialog {
  // `onConversation(conversation)`: a newer copy after a change; `onLeft(id)`: I left.
  constructor({ getMe, onConversation, onLeft }) {
    this.getMe = getMe;
    this.onConversation = onConversation;
    this.onLeft = onLeft;
    this.conversation = null;
    this.people = [];
    this.dialog = document.getElementById('chat-members-dialog');
    this.title = document.getElementById('chat-members-title');
    this.renameForm = document.getElementById('chat-rename-form');
    this.renameInput = document.getElementById('chat-rename-input');
    this.renameOk = document.getElementById('chat-rename-ok');
    this.count = document.getElementById('chat-members-count');
    this.list = document.getElementById('chat-member-list');
    this.input = document.getElementById('chat-add-member-input');
    this.results = document.getElementById('chat-add-member-results');
    this.error = document.getElementById('chat-members-error');
    this.renameForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.rename();
    });
    this.renameInput.addEventListener('input', () => {
      this.renameOk.hidden = true;
    });
    this.input.addEventListener('input', () => this.paintResults());
    document.getElementById('chat-leave-button').addEventListener('click', () => this.leave());
    document.getElementById('chat-members-close').addEventListener('click', () => this.dialog.close());
    this.dialog.addEventListener('close', () => {
      this.conversation = null;
      this.loads += 1; // an answer still on its way is for nobody now
    });
    this.loads = 0;
    arrowKeys(this.input, this.results);
  }

  get meId() {
    const me = this.getMe();
    return me ? me.id : null;
  }

  async open(conversation) {
    this.conversation = conversation;
    this.renameInput.value = conversation.has_name ? conversation.name : ''; // unnamed: named after its members
    this.renameOk.hidden = true;
    this.input.value = '';
    showError(this.error, '');
    this.paint();
    this.results.replaceChildren();
    this.dialog.showModal();
    this.input.focus();
    this.load();
    try {
      this.people = await colleagues(this.meId);
    } catch (error) {
      showError(this.error, `The directory could not be loaded. ${describe(error, '')}`.trim());
    }
    this.paintResults();
  }

  // Every member: `GET conversations/<id>/` (the list's copy may name only some).
  async load() {
    if (!this.conversation) return;
    const { id } = this.conversation;
    this.loads += 1;
    const load = this.loads;
    let conversation;
    try {
      conversation = await api('GET', `chat/conversations/${id}/`);
    } catch (error) {
      if (load === this.loads && error.status !== 404) showError(this.error, `The members could not be loaded. ${describe(error, '')}`.trim());
      return; // a 404: I am not in it any more, and Chat closes the dialog
    }
    if (load !== this.loads || !this.conversation || this.conversation.id !== id) return;
    this.loaded = conversation;
    this.onConversation(conversation); // which updates this dialog too
  }

  isPartial(conversation) {
    return (conversation.members || []).length < (conversation.member_count ?? 0);
  }

  // A newer copy of a conversation: repaint if it is the one shown. A copy from the list that
  // names only some members keeps the members shown, and the whole conversation is fetched.
  update(conversation) {
    if (!this.conversation || this.conversation.id !== conversation.id) return;
    if (this.isPartial(conversation) && conversation !== this.loaded) {
      this.conversation = { ...conversation, members: this.conversation.members };
      this.load();
    } else {
      this.conversation = conversation;
    }
    this.paint();
    this.paintResults();
  }

  shows(conversationId) {
    return Boolean(this.conversation && this.conversation.id === conversationId);
  }

  closeFor(conversationId) {
    if (this.conversation && this.conversation.id === conversationId) this.dialog.close();
  }

  paint() {
    const conversation = this.conversation;
    const members = [...(conversation.members || [])].sort((a, b) => a.name.localeCompare(b.name));
    this.title.textContent = conversationName(conversation, this.meId);
    this.count.textContent = `${conversation.member_count ?? members.length}`;
    const focusedUser = document.activeElement && document.activeElement.closest && document.activeElement.closest('#chat-member-list li');
    this.list.replaceChildren(...members.map((member) => {
      const isMe = member.user_id === this.meId;
      return h('li', { class: 'participant chat-member', dataset: { userId: String(member.user_id) } },
        h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(member.name)),
        h('span', { class: 'participant-name' }, member.name, isMe ? ' (you)' : ''),
        h('span', { class: 'participant-note' }, member.extension ? `Ext. ${member.extension}` : ''),
        isMe ? null : h('button', {
          type: 'button', class: 'button small-button', 'aria-label': `Remove ${member.name} from the group`,
          onclick: () => this.remove(member),
        }, icon('user-x'), 'Remove'));
    }));
    if (focusedUser && !focusedUser.isConnected) {
      const again = this.list.querySelector(`li[data-user-id="${focusedUser.dataset.userId}"] button`);
      (again || this.input).focus();
    }
  }

  paintResults() {
    const query = this.input.value.trim();
    if (!query) {
      this.results.replaceChildren();
      return;
    }
    const memberIds = new Set(this.conversation.members.map((member) => member.user_id));
    const found = matching(this.people, query).filter((entry) => !memberIds.has(entry.id));
    this.results.replaceChildren(...(found.length
      ? found.map((entry) => personResult(entry, (chosen) => this.add(chosen)))
      : [h('li', { class: 'list-empty' }, 'Nobody else matches.')]));
  }

  async change(request, failure) {
    const id = this.conversation.id;
    showError(this.error, '');
    try {
      const result = await request();
      const conversation = result || await api('GET', `chat/conversations/${id}/`);
      this.onConversation(conversation);
      this.update(conversation);
      return true;
    } catch (error) {
      showError(this.error, `${failure} ${describe(error, '')}`.trim());
      return false;
    }
  }

  async rename() {
    const name = this.renameInput.value.trim();
    const id = this.conversation.id;
    if (await this.change(() => api('PATCH', `chat/conversations/${id}/`, { name }), 'The group could not be renamed.')) {
      this.renameOk.hidden = false;
    }
  }

  async add(entry) {
    const id = this.conversation.id;
    if (await this.change(() => api('POST', `chat/conversations/${id}/members/`, { user_ids: [entry.id] }), `${entry.name} could not be added.`)) {
      this.input.value = '';
      this.paintResults();
      this.input.focus();
    }
  }

  async remove(member) {
    const id = this.conversation.id;
    await this.change(() => api('DELETE', `chat/conversations/${id}/members/${member.user_id}/`), `${member.name} could not be removed.`);
  }

  async leave() {
    const conversation = this.conversation;
    const confirmed = await confirmDialog({
      title: `Leave ${conversationName(conversation, this.meId)}?`,
      text: 'You stop getting its messages, and it goes from your chat list. A member can add you again.',
      action: 'Leave',
    });
    if (!confirmed) return;
    try {
      await api('DELETE', `chat/conversations/${conversation.id}/members/${this.meId}/`);
    } catch (error) {
      showError(this.error, `You could not leave the group. ${describe(error, '')}`.trim());
      return;
    }
    this.dialog.close();
    this.onLeft(conversation.id);
  }
}
