// The presence menu (click the circle beside your picture) and its duration popup.

import { api } from './api.js';
import { showError } from './dom.js';

export function presenceText(presence) {
  if (!presence) return 'Offline';
  if (presence.status === 'offline') return 'Offline';
  return presence.custom_text ? `${presence.custom_text} (${presence.status_label})` : presence.status_label;
}

export function paintDot(dot, presence) {
  dot.dataset.status = presence ? presence.status : 'offline';
  dot.title = presenceText(presence);
}

export class PresenceMenu {
  // `onPhoneDnd(enabled)` turns Phone DND on or off (every call straight to voicemail).
  constructor({ onChanged, onPhoneDnd }) {
    this.onChanged = onChanged;
    this.onPhoneDnd = onPhoneDnd;
    this.button = document.getElementById('presence-button');
    this.menu = document.getElementById('presence-menu');
    this.dialog = document.getElementById('presence-dialog');
    this.form = document.getElementById('presence-form');
    this.error = document.getElementById('presence-error');
    this.chosen = null;
    this.button.addEventListener('click', () => this.toggle());
    this.menu.addEventListener('click', (event) => this.pick(event));
    this.menu.addEventListener('keydown', (event) => this.keydown(event));
    document.addEventListener('click', (event) => {
      if (!this.menu.hidden && !this.menu.contains(event.target) && !this.button.contains(event.target)) this.close();
    });
    document.getElementById('presence-cancel').addEventListener('click', () => this.dialog.close());
    this.form.addEventListener('submit', (event) => this.submit(event));
  }

  toggle() {
    if (this.menu.hidden) this.open();
    else this.close();
  }

  open() {
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.menu.querySelector('.menu-item').focus();
  }

  close() {
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  keydown(event) {
    const items = [...this.menu.querySelectorAll('.menu-item')];
    const index = items.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      this.close();
      this.button.focus();
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    }
  }

  async pick(event) {
    const item = event.target.closest('.menu-item');
    if (!item) return;
    this.close();
    if (item.dataset.phoneDnd === 'true') {
      await this.onPhoneDnd(item.getAttribute('aria-checked') !== 'true');
      return;
    }
    if (item.dataset.status === 'available') {
      await this.save({ status: 'available', duration: 'until_changed', custom_text: '' });
      return;
    }
    const custom = item.dataset.custom === 'true';
    this.chosen = custom ? null : item.dataset.status;
    this.dialog.classList.toggle('custom', custom);
    document.getElementById('presence-dialog-title').textContent = custom ? 'Custom status' : item.textContent.trim();
    this.form.elements.custom_text.value = '';
    showError(this.error, '');
    this.dialog.showModal();
  }

  async submit(event) {
    event.preventDefault();
    const elements = this.form.elements;
    const body = {
      status: this.chosen || elements.status.value,
      duration: elements.duration.value,
      custom_text: this.chosen ? '' : elements.custom_text.value,
    };
    if (!this.chosen && !body.custom_text.trim()) {
      showError(this.error, 'Type the status others should see.');
      return;
    }
    if (await this.save(body)) this.dialog.close();
  }

  async save(body) {
    try {
      const presence = await api('PUT', 'presence/', body);
      this.onChanged(presence);
      return true;
    } catch (error) {
      showError(this.error, error.describe ? error.describe() : String(error));
      if (!this.dialog.open) window.alert(error.message);
      return false;
    }
  }
}
