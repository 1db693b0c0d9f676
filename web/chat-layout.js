// The message list's layout, kept in the DOM itself: day separators, the "New messages" line
// before the first unread message, which messages continue their sender's group (one header
// for a run), and updating a shown message in place. Items carry data-day, data-at,
// data-sender-id and (once stored) data-sequence.

import { dayLabel } from './chat-render.js';
import { h } from './dom.js';

const GROUP_GAP_MS = 5 * 60 * 1000; // a sender's messages closer than this share one header

// Puts the separators and the unread line where they belong (moving none that is already
// right, so a screen reader hears nothing twice) and marks the continued messages.
export function regroup(list, { unreadFrom }) {
  const keep = new Set();
  let previous = null;
  let lineDrawn = false;
  for (const item of [...list.children]) {
    if (item.classList.contains('chat-day') || item.classList.contains('chat-divider')) continue;
    const day = item.dataset.day;
    const at = Date.parse(item.dataset.at);
    const sequence = item.dataset.sequence ? Number(item.dataset.sequence) : null;
    const wantsLine = !lineDrawn && unreadFrom !== null && sequence !== null && sequence >= unreadFrom;
    lineDrawn ||= wantsLine;
    const wantsDay = !previous || previous.day !== day;
    let existingLine = null;
    let existingDay = null;
    for (let cursor = item.previousElementSibling; cursor && !cursor.matches('.chat-message, .chat-event'); cursor = cursor.previousElementSibling) {
      if (cursor.classList.contains('chat-divider')) existingLine ||= cursor;
      else if (cursor.dataset.day === day) existingDay ||= cursor;
    }
    let anchor = item;
    if (wantsLine) {
      const line = existingLine || h('li', { class: 'chat-divider', id: 'chat-unread-line' }, h('span', {}, 'New messages'));
      if (line.nextElementSibling !== anchor) anchor.before(line);
      keep.add(line);
      anchor = line;
    }
    if (wantsDay) {
      const separator = existingDay || h('li', { class: 'chat-day', dataset: { day } }, h('span', {}, dayLabel(item.dataset.at)));
      if (separator.nextElementSibling !== anchor) anchor.before(separator);
      keep.add(separator);
    }
    const isMessage = item.classList.contains('chat-message');
    const continued = isMessage && previous && previous.isMessage && previous.sender === item.dataset.senderId
      && !wantsDay && !wantsLine && at - previous.at < GROUP_GAP_MS && at >= previous.at;
    item.classList.toggle('continued', Boolean(continued));
    previous = { day, at, sender: item.dataset.senderId, isMessage };
  }
  for (const node of list.querySelectorAll(':scope > .chat-day, :scope > .chat-divider')) {
    if (!keep.has(node)) node.remove();
  }
}

// Updates a shown message to `node` by replacing only its parts that changed (new reactions,
// an edit), so a screen reader hears only those and a voice message keeps playing. False when
// the message changed shape (deleted, being edited): then it is replaced whole.
export function patch(old, node) {
  const strip = (element) => element.className.replace(/\b(continued|highlight)\b/g, ' ').replace(/\s+/g, ' ').trim();
  const oldBody = old.querySelector(':scope > .chat-message-body');
  const newBody = node.querySelector(':scope > .chat-message-body');
  if (!oldBody || !newBody || strip(old) !== strip(node) || old.querySelector('.chat-editor')) return false;
  const kept = new Map([...oldBody.children].map((kid) => [kid.className, kid]));
  const parts = [...newBody.children].map((kid) => {
    const same = kept.get(kid.className);
    return same && same.outerHTML === kid.outerHTML ? same : kid;
  });
  const keep = new Set(parts);
  let anchor = oldBody.firstElementChild;
  for (const part of parts) {
    while (anchor && !keep.has(anchor)) anchor = anchor.nextElementSibling;
    if (part === anchor) anchor = anchor.nextElementSibling;
    else oldBody.insertBefore(part, anchor);
  }
  for (const kid of [...oldBody.children]) if (!keep.has(kid)) kid.remove();
  return true;
}
