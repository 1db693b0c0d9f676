// How SMS looks: a conversation's row in the list, one text message (its words, its pictures,
// its status), a message of mine still on its way, and the words for previews. What people
// wrote goes in as text nodes only; http(s) addresses become links built as <a> elements
// (chat-render.js's linkify), never as HTML.

import { dayKey, fullDate, linkify, listTime, timeOf } from './chat-render.js';
import { h, icon, initials } from './dom.js';

const FAILED = new Set(['failed', 'undelivered', 'unconfirmed']); // shown with their reason

// The name a thread goes by: the contact's or colleague's name, else its number.
export function threadName(thread) {
  return thread.name || thread.remote_display || thread.remote_number || 'Unknown number';
}

// The list's one line about the newest message.
export function previewOf(thread) {
  const last = thread.last_message;
  if (!last) return 'No messages yet';
  const text = String(last.body || '').replace(/\s+/g, ' ').trim();
  const body = text || (last.has_media ? '📷 Picture' : '');
  return last.direction === 'outbound' ? `You: ${body}` : body;
}

export function threadAvatar(thread) {
  return h('span', { class: 'avatar sms-avatar', 'aria-hidden': 'true' }, thread.name ? initials(thread.name) : icon('smartphone'));
}

// One row of the conversation list. `context`: { selected, onOpen, onKey }.
export function threadRow(thread, { selected, onOpen, onKey }) {
  const name = threadName(thread);
  const unread = thread.unread_count || 0;
  const at = thread.last_message_at || (thread.last_message && thread.last_message.created_at) || '';
  return h('li', { class: `chat-row sms-row${unread ? ' unread' : ''}${thread.opted_out ? ' opted-out' : ''}`, dataset: { threadId: thread.id } },
    h('button', {
      type: 'button', class: `entry chat-entry sms-entry${selected ? ' selected' : ''}`, 'aria-current': selected ? 'true' : null,
      onclick: () => onOpen(thread), onkeydown: onKey,
    },
    threadAvatar(thread),
    h('span', { class: 'entry-text' },
      h('span', { class: 'chat-entry-line' },
        h('span', { class: 'entry-name' }, name),
        at ? h('time', { class: 'chat-entry-time', datetime: at, title: fullDate(at) }, listTime(at)) : null),
      thread.name ? h('span', { class: 'entry-sub sms-row-number' }, thread.remote_display || thread.remote_number) : null,
      h('span', { class: 'chat-entry-line' },
        h('span', { class: 'entry-sub chat-preview sms-preview' }, previewOf(thread)),
        thread.opted_out ? h('span', { class: 'sms-tag opted-out', title: 'They replied STOP: texts to them are not sent' }, 'Opted out') : null,
        unread ? h('span', { class: 'chat-unread-count', title: `${unread} unread` },
          h('span', { 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)),
          h('span', { class: 'visually-hidden' }, `, ${unread} unread`)) : null))));
}

// ---- a message ----

function picture(media) {
  if (!media.ready) {
    const text = media.error ? `The picture could not be downloaded: ${media.error}` : 'Downloading picture…';
    return h('p', { class: `sms-picture pending${media.error ? ' failed' : ''}`, dataset: { mediaId: media.id } }, icon('image'), h('span', {}, text));
  }
  const name = media.name || 'Picture';
  const link = h('a', { class: 'sms-picture', href: media.url, target: '_blank', rel: 'noopener noreferrer', title: `Open ${name} in a new tab`, dataset: { mediaId: media.id } },
    h('img', {
      src: media.url, alt: name, loading: 'lazy', decoding: 'async',
      onerror: () => link.replaceChildren(icon('image'), h('span', {}, 'The picture is not available.')),
    }));
  return link;
}

function pictures(list) {
  return list.length ? h('div', { class: 'sms-pictures' }, list.map(picture)) : null;
}

function words(text) {
  return text ? h('p', { class: 'sms-text' }, linkify(text)) : null;
}

function bubble(text, pictureList) {
  return h('div', { class: `sms-bubble${text ? '' : ' pictures-only'}` }, words(text), pictureList);
}

function stamp(iso) {
  return h('time', { datetime: iso, title: fullDate(iso) }, timeOf(iso));
}

// Under an outbound message: its status, and why it failed when it did.
function statusOf(message) {
  const failed = FAILED.has(message.status);
  const label = message.status_label || message.status;
  const text = failed && message.error_message ? `${label}: ${message.error_message}` : label;
  return h('span', {
    class: `sms-status${failed ? ' failed' : ''}`, dataset: { status: message.status },
    title: failed && message.error_code ? `Carrier error ${message.error_code}` : (message.status_changed_at ? fullDate(message.status_changed_at) : null),
  }, text);
}

// One message of the thread: outbound on the right with its status, inbound on the left.
export function messageElement(message) {
  const outbound = message.direction === 'outbound';
  const media = Array.isArray(message.media) ? message.media : [];
  const failed = outbound && FAILED.has(message.status);
  return h('li', {
    class: `sms-message ${outbound ? 'outbound' : 'inbound'}${failed ? ' failed' : ''}`,
    dataset: { messageId: message.id, clientId: message.client_id || null, status: message.status, day: dayKey(message.created_at), at: message.created_at },
  }, bubble(message.body, pictures(media)),
  h('p', { class: 'sms-meta' },
    h('span', { class: 'visually-hidden' }, outbound ? 'Sent by you ' : 'Received '),
    stamp(message.created_at), outbound ? ' · ' : null, outbound ? statusOf(message) : null));
}

// A message of mine not stored yet: "Sending…", or "Not sent" with Retry and Edit.
// `item`: { client_id, body, files: [{ file, url }], created_at, state: 'sending'|'failed', reason }.
export function pendingElement(item, { onRetry, onEdit }) {
  const failed = item.state === 'failed';
  const state = failed
    ? h('span', { class: 'sms-status failed', role: 'alert', dataset: { status: 'not_sent' } },
      `Not sent${item.reason ? `: ${item.reason}` : ''} — `,
      h('button', { type: 'button', class: 'link-button sms-retry', onclick: () => onRetry(item) }, 'Retry'), ' · ',
      h('button', { type: 'button', class: 'link-button sms-edit', onclick: () => onEdit(item) }, 'Edit'))
    : h('span', { class: 'sms-status', dataset: { status: 'sending' } }, 'Sending…');
  const previews = item.files.length
    ? h('div', { class: 'sms-pictures' }, item.files.map(({ file, url }) => h('span', { class: 'sms-picture' }, h('img', { src: url, alt: file.name }))))
    : null;
  return h('li', {
    class: `sms-message outbound pending${failed ? ' failed' : ''}`,
    dataset: { clientId: item.client_id, day: dayKey(item.created_at), at: item.created_at },
  }, bubble(item.body, previews),
  h('p', { class: 'sms-meta' }, stamp(item.created_at), ' · ', state));
}
