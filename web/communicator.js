// Entry module of the communicator window: wires the views, the event socket and shortcuts.

import { api } from './api.js';
import { initials } from './dom.js';
import { Directory } from './directory.js';
import { EventSocket } from './events.js';
import { paintDot, presenceText, PresenceMenu } from './presence.js';
import { Preferences } from './preferences.js';

const directory = new Directory();
let me = null;

function paintMe() {
  document.getElementById('me-avatar').textContent = initials(me.name);
  document.getElementById('menu-name').textContent = me.name;
  document.getElementById('me-name').textContent = me.extension ? `${me.name} · ${me.extension}` : me.name;
  document.getElementById('direct-number').textContent = me.direct_number_display || 'No direct number';
}

function paintMyPresence(presence) {
  paintDot(document.getElementById('me-presence-dot'), presence);
  document.getElementById('me-presence-label').textContent = presenceText(presence);
  document.getElementById('menu-presence').textContent = presenceText(presence);
  document.getElementById('me-presence-text').textContent = presenceText(presence);
}

const preferences = new Preferences({ onSaved: (updated) => { me = updated; paintMe(); } });

new PresenceMenu({
  onChanged: (presence) => {
    paintMyPresence(presence);
    directory.updatePresence(presence);
  },
});

function showView(view) {
  document.querySelectorAll('.rail-button[data-view]').forEach((button) => {
    if (button.dataset.view === view) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  });
  document.getElementById('contacts-view').hidden = view !== 'contacts';
  document.getElementById('content').hidden = view !== 'contacts';
  document.getElementById('preferences-view').hidden = view !== 'preferences';
  if (view === 'preferences') preferences.show(me);
}

document.querySelectorAll('.rail-button[data-view]').forEach((button) =>
  button.addEventListener('click', () => showView(button.dataset.view)));

document.addEventListener('keydown', (event) => {
  const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName);
  if (event.key === '/' && !typing) {
    event.preventDefault();
    showView('contacts');
    document.getElementById('search').focus();
  } else if (event.altKey && event.key === '1') {
    showView('contacts');
  } else if (event.altKey && event.key === '9') {
    showView('preferences');
  }
});

// Everything the window shows, fetched again after every (re)connect.
async function loadState() {
  const [mine, presence] = await Promise.all([api('GET', 'me/'), api('GET', 'presence/')]);
  me = mine;
  paintMe();
  paintMyPresence(presence);
  await directory.refresh();
}

const banner = document.getElementById('connection-banner');
const socket = new EventSocket({
  onConnected: () => {
    banner.hidden = true;
    loadState()
      .then(() => { document.body.dataset.connected = 'true'; })
      .catch(() => {});
  },
  onDisconnected: () => {
    document.body.dataset.connected = 'false';
    banner.hidden = false;
    api('GET', 'me/').catch(() => {});
  },
  onSignedOut: () => window.location.assign('/login/'),
  onEvent: (event) => {
    if (event.type === 'presence.changed') {
      directory.updatePresence(event.presence);
      if (me && event.presence.user_id === me.id) paintMyPresence(event.presence);
    } else if (event.type === 'directory.contacts_changed') {
      directory.refresh();
    }
  },
});
socket.start();
