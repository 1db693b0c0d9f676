// Entry module of the communicator window: wires the views, the event socket, the softphone
// and shortcuts.

import { api } from './api.js';
import { AudioDevices } from './audio-devices.js';
import { CallHandling } from './call-handling.js';
import { Chat } from './chat.js';
import { ConferenceWindow } from './conference.js';
import { initials } from './dom.js';
import { DesktopApp } from './desktop.js';
import { Directory } from './directory.js';
import { EventSocket } from './events.js';
import { ParkedCalls } from './parked.js';
import { Phone } from './phone.js';
import { paintDot, presenceText, PresenceMenu } from './presence.js';
import { Preferences } from './preferences.js';
import { Sms } from './sms.js';
import { Softphone } from './softphone.js';
import { Ringer } from './tones.js';
import { Voicemail } from './voicemail.js';

let me = null;
let view = 'contacts';

// Phone DND: the presence menu's checkbox, and "Phone DND" after your presence everywhere it shows.
function paintPhoneDnd(enabled) {
  document.getElementById('phone-dnd-item').setAttribute('aria-checked', String(enabled));
  document.getElementById('phone-dnd-tag').hidden = !enabled;
}

async function setPhoneDnd(enabled) {
  try {
    const result = await api('PUT', 'calls/phone-dnd/', { enabled });
    paintPhoneDnd(result.enabled);
  } catch (error) {
    window.alert(error.describe ? error.describe() : String(error));
  }
}

function paintMe() {
  paintPhoneDnd(me.phone_dnd);
  document.getElementById('me-avatar').textContent = initials(me.name);
  document.getElementById('menu-name').textContent = me.name;
  document.getElementById('me-name').textContent = me.extension ? `${me.name} · ${me.extension}` : me.name;
  document.getElementById('direct-number').textContent = me.direct_number_display || 'No direct number';
  phone.setMe(me);
  softphone.repaint(); // Hold works only with Softphone as the calling device
}

function paintMyPresence(presence) {
  paintDot(document.getElementById('me-presence-dot'), presence);
  document.getElementById('me-presence-label').textContent = presenceText(presence);
  document.getElementById('menu-presence').textContent = presenceText(presence);
  document.getElementById('me-presence-text').textContent = presenceText(presence);
  desktop.presenceChanged(presence);
}

function meChanged(updated) {
  me = updated;
  paintMe();
}

const app = document.getElementById('app');
const desktop = new DesktopApp({ presenceText });
const devices = new AudioDevices();
const ringer = new Ringer({ ringtoneUrl: app.dataset.ringtone, waitingUrl: app.dataset.waitingTone, devices });
devices.ringer = ringer;

const banner = document.getElementById('connection-banner');
const socket = new EventSocket({
  onConnected: () => {
    banner.hidden = true;
    loadState()
      .then(() => { document.body.dataset.connected = 'true'; })
      .catch(() => {})
      .finally(() => chat.refresh()); // the chat list needs to know who I am
    // Calls and history come from their own endpoints: if they fail, the rest still loads.
    softphone.resync();
    parked.refresh();
    voicemail.refresh();
    sms.refresh();
    if (view === 'voicemail') voicemail.settings.refresh();
    if (view === 'phone') phone.refresh();
    else phone.loadBadge();
  },
  onDisconnected: () => {
    document.body.dataset.connected = 'false';
    banner.hidden = false;
    api('GET', 'me/').catch(() => {});
  },
  onSignedOut: () => {
    if (!desktop.signingOut) window.location.assign('/login/');
  },
  onEvent: (event) => {
    if (event.type === 'presence.changed') {
      directory.updatePresence(event.presence);
      if (me && event.presence.user_id === me.id) paintMyPresence(event.presence);
    } else if (event.type === 'directory.contacts_changed') {
      directory.refresh();
    } else if (['call.updated', 'call.sdp', 'call.switch_requested'].includes(event.type)) {
      softphone.handleEvent(event);
    } else if (event.type === 'call.parked_changed') {
      parked.refresh();
    } else if (event.type === 'call.history_changed') {
      phone.historyChanged(event);
    } else if (event.type === 'voicemail.changed') {
      voicemail.changed(event);
    } else if (event.type === 'call.phone_dnd_changed') {
      paintPhoneDnd(event.enabled);
    } else if (event.type.startsWith('chat.')) {
      chat.handleEvent(event);
    } else if (event.type.startsWith('sms.')) {
      sms.handleEvent(event);
    }
  },
});

const softphone = new Softphone({
  socket,
  devices,
  ringer,
  getMe: () => me,
  onDialled: () => phone.paintRedial(),
});
const phone = new Phone({ softphone, devices, onMeChanged: meChanged });
const directory = new Directory({
  onCall: (number, name) => softphone.call(number, { name }),
  onText: (number) => sms.textNumber(number),
});
const preferences = new Preferences({ onSaved: meChanged });
softphone.ui = new CallHandling({ softphone, directoryList: document.getElementById('list') });
const parked = new ParkedCalls({ onPickUp: (slot, name) => softphone.call(slot, { name }) });
const conference = new ConferenceWindow({ softphone, getMe: () => me });
const voicemail = new Voicemail({ onCall: (number, name) => softphone.call(number, { name }), getMe: () => me });
const chat = new Chat({
  onCall: (number, name) => softphone.call(number, { name }),
  getMe: () => me,
  onShow: () => showView('chat'),
  openMicrophone: () => devices.openMicrophone(), // voice messages use the microphone chosen for calls
});

const sms = new Sms({
  onCall: (number, name) => softphone.call(number, { name }),
  onShow: () => showView('sms'),
});

// For the end-to-end tests and for diagnosing calls and chat from the browser's console.
window.toc = { softphone, chat, sms };

new PresenceMenu({
  onChanged: (presence) => {
    paintMyPresence(presence);
    directory.updatePresence(presence);
  },
  onPhoneDnd: setPhoneDnd,
});

function showView(next) {
  view = next;
  document.querySelectorAll('.rail-button[data-view]').forEach((button) => {
    if (button.dataset.view === next) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  });
  document.getElementById('contacts-view').hidden = next !== 'contacts';
  document.getElementById('content').hidden = next !== 'contacts';
  document.getElementById('phone-view').hidden = next !== 'phone';
  document.getElementById('history-view').hidden = next !== 'phone';
  document.getElementById('preferences-view').hidden = next !== 'preferences';
  document.getElementById('parked-view').hidden = next !== 'parked';
  document.getElementById('conference-view').hidden = next !== 'conference';
  document.getElementById('voicemail-view').hidden = next !== 'voicemail';
  document.getElementById('chat-view').hidden = next !== 'chat';
  document.getElementById('chat-conversation').hidden = next !== 'chat';
  document.getElementById('sms-view').hidden = next !== 'sms';
  document.getElementById('sms-conversation').hidden = next !== 'sms';
  if (next === 'preferences' && me) preferences.show(me);
  if (next === 'parked') parked.refresh();
  if (next === 'conference') conference.show();
  if (next === 'phone') phone.show();
  else phone.hide();
  if (next === 'voicemail') voicemail.show();
  else voicemail.hide();
  if (next === 'chat') chat.show();
  else chat.hide();
  if (next === 'sms') sms.show();
  else sms.hide();
}

document.querySelectorAll('.rail-button[data-view]').forEach((button) =>
  button.addEventListener('click', () => showView(button.dataset.view)));

// The additional-features menu (More): Parked Calls, and Online Self Care (a link: it opens the
// portal in a new tab, or in the system's browser from the desktop app).
const moreButton = document.getElementById('more-button');
const moreMenu = document.getElementById('more-menu');
const moreItems = () => [...moreMenu.querySelectorAll('[role=menuitem]')];
function showMore(open) {
  moreMenu.hidden = !open;
  moreButton.setAttribute('aria-expanded', String(open));
  if (open) moreItems()[0].focus();
}
moreButton.addEventListener('click', () => showMore(moreMenu.hidden));
moreMenu.querySelectorAll('[data-view]').forEach((item) => item.addEventListener('click', () => {
  showMore(false);
  showView(item.dataset.view);
}));
moreMenu.querySelectorAll('a[role=menuitem]').forEach((link) => link.addEventListener('click', () => showMore(false)));
document.addEventListener('click', (event) => {
  if (!moreMenu.hidden && !moreMenu.contains(event.target) && !moreButton.contains(event.target)) showMore(false);
});
moreMenu.addEventListener('keydown', (event) => {
  const items = moreItems();
  const at = items.indexOf(document.activeElement);
  const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
  if (event.key === 'Escape') {
    showMore(false);
    moreButton.focus();
  } else if (event.key in moves) {
    event.preventDefault();
    items[(moves[event.key] + items.length) % items.length].focus();
  } else if (event.key === ' ' && document.activeElement.tagName === 'A') {
    event.preventDefault();
    document.activeElement.click();
  }
});

document.addEventListener('keydown', (event) => {
  const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName);
  if (view === 'chat' && ((event.key === '/' && !typing) || (event.ctrlKey && !event.altKey && (event.key || '').toLowerCase() === 'k'))) {
    event.preventDefault();
    chat.focusSearch();
  } else if (event.key === '/' && !typing) {
    event.preventDefault();
    showView('contacts');
    document.getElementById('search').focus();
  } else if (event.altKey && event.key === '1') {
    showView('contacts');
  } else if (event.altKey && event.key === '2') {
    showView('phone');
    phone.focusDialPad();
  } else if (event.altKey && event.key === '3') {
    event.preventDefault();
    showView('chat');
    chat.focus();
  } else if (event.altKey && event.key === '4') {
    event.preventDefault();
    showView('sms');
    sms.focus();
  } else if (event.altKey && event.key === '5') {
    showView('voicemail');
  } else if (event.altKey && event.key === '7') {
    showView('conference');
  } else if (event.altKey && event.key === '9') {
    showView('preferences');
  } else if (event.altKey && event.shiftKey && (event.code === 'KeyA' || event.code === 'KeyD')) {
    const ringing = softphone.newestRinging();
    if (!ringing) return;
    event.preventDefault();
    if (event.code === 'KeyA') softphone.answer(ringing);
    else softphone.decline(ringing);
  }
});

// Everything the window shows, fetched again after every (re)connect.
async function loadState() {
  const [mine, presence] = await Promise.all([api('GET', 'me/'), api('GET', 'presence/')]);
  me = mine;
  directory.myId = mine.id;
  paintMe();
  paintMyPresence(presence);
  await directory.refresh();
}

socket.start();
