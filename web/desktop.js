// The desktop app (toc/desktop). When the communicator runs in TOC's desktop window, it tells
// the app its presence (for the tray icon) and its sign-out (the app then forgets the stored
// sign-in), shows the "Start TOC when I sign in" preference, and turns notifications on (the app
// grants them to the company without a prompt). In a browser none of this happens.
//
// The app answers `toc-desktop-request` events on the document with `toc-desktop-answer` events
// (its side runs in an isolated world: see toc/desktop/bridge.py).

import { showError } from './dom.js';

const ANSWER_TIMEOUT_MS = 30000;

function ready() {
  if (document.documentElement.dataset.tocDesktop === 'ready') return Promise.resolve();
  return new Promise((resolve) => document.addEventListener('toc-desktop-ready', () => resolve(), { once: true }));
}

function call(method, ...args) {
  const id = `${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      document.removeEventListener('toc-desktop-answer', listen);
      reject(new Error('The desktop app did not answer.'));
    }, ANSWER_TIMEOUT_MS);
    function listen(event) {
      const answer = JSON.parse(event.detail);
      if (answer.id !== id) return;
      clearTimeout(timer);
      document.removeEventListener('toc-desktop-answer', listen);
      if (answer.result && answer.result.error) reject(new Error(answer.result.error));
      else resolve(answer.result);
    }
    document.addEventListener('toc-desktop-answer', listen);
    document.dispatchEvent(new CustomEvent('toc-desktop-request', { detail: JSON.stringify({ id, method, args }) }));
  });
}

export class DesktopApp {
  constructor({ presenceText }) {
    this.presenceText = presenceText;
    this.present = false;
    this.signingOut = false; // the event socket then closes as signed out: not a reason to leave yet
    this.presence = null;
    this.section = document.getElementById('desktop-preferences');
    this.startAtLogin = document.getElementById('start-at-login');
    this.error = document.getElementById('desktop-preferences-error');
    this.startAtLogin.addEventListener('change', () => this.saveStartAtLogin());
    document.getElementById('sign-out-form').addEventListener('submit', (event) => this.signOut(event));
    ready().then(() => this.start());
  }

  async start() {
    this.present = true;
    this.section.hidden = false;
    if ('Notification' in window && Notification.permission === 'default') await Notification.requestPermission();
    if (this.presence) this.reportPresence();
    await this.refresh();
  }

  async refresh() {
    try {
      const state = await call('desktop_state');
      this.startAtLogin.checked = state.start_at_login;
      showError(this.error, '');
    } catch (error) {
      showError(this.error, error.message);
    }
  }

  async saveStartAtLogin() {
    try {
      const state = await call('set_start_at_login', this.startAtLogin.checked);
      this.startAtLogin.checked = state.start_at_login;
      showError(this.error, '');
    } catch (error) {
      showError(this.error, `Could not change it: ${error.message}`);
      await this.refresh();
    }
  }

  presenceChanged(presence) {
    this.presence = presence;
    if (this.present) this.reportPresence();
  }

  reportPresence() {
    const status = this.presence.status || 'offline';
    call('presence_changed', status, this.presenceText(this.presence)).catch(() => {});
  }

  // In the app, sign out here and then have the app clear its cookies and cache, so the next
  // launch asks for a sign-in; the server's answer is awaited first (its form needs the cookies).
  async signOut(event) {
    if (!this.present) return;
    event.preventDefault();
    const form = event.target;
    this.signingOut = true;
    try {
      await fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin' });
      await call('signed_out');
    } finally {
      window.location.assign('/login/');
    }
  }
}
