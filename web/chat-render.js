// How chat looks: a message (text, attachments, reactions, its actions), a server-written
// notice, a conversation's row in the list, a search result, and the words for previews,
// notices, reactions and typing. What people wrote always goes in as text nodes; links are
// built as <a> elements from the text, never as HTML.

import { formatDuration, renderAttachments } from './chat-attachments.js';
import { h, icon, initials } from './dom.js';
import { minutesSeconds } from './voicemail.js';

export const PLAIN = 'toc.plain/1';
const URL_PATTERN = /(?:\bhttps?:\/\/|\bwww\.)[^\s<>"]+/giu;
const CLOSERS = { ')': '(', ']': '[', '}': '{' };
// Only emoji (at most three) make a message big, as in Teams and Slack.
const ONLY_EMOJI = /^(?:\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?(?:\u200D\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?)*|\p{Regional_Indicator}{2}|\s)+$/u;
const EMOJI_UNIT = /\p{Regional_Indicator}{2}|\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?(?:\u200D\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?)*/gu;

// ---- words ----

export function firstName(name) {
  return String(name || '').trim().split(/\s+/)[0] || 'Someone';
}

// ["A"] -> "A"; ["A", "B"] -> "A and B"; ["A", "B", "C"] -> "A, B and C".
export function listNames(names) {
  const all = names.filter(Boolean);
  if (all.length <= 1) return all[0] || '';
  return `${all.slice(0, -1).join(', ')} and ${all[all.length - 1]}`;
}

// A conversation's title: the group's name, the other person's name, or the members' first names.
export function conversationName(conversation, meId) {
  if (conversation.name) return conversation.name;
  const others = (conversation.members || []).filter((member) => member.user_id !== meId);
  if (!others.length) return conversation.kind === 'group' ? 'Group chat' : 'Chat';
  return listNames(others.map((member) => firstName(member.name)));
}

export function otherMember(conversation) {
  return (conversation.members || []).find((member) => member.user_id === conversation.other_user_id) || null;
}

export function textOf(message) {
  const payload = message && message.envelope && message.envelope.format === PLAIN ? message.envelope.payload : null;
  return payload && typeof payload.text === 'string' ? payload.text : '';
}

// The payload's attachments that the message really has: only those whose id the server lists
// in `attachment_ids` (a payload written by another client may name any file), each once.
export function attachmentsOf(message) {
  const payload = message && message.envelope && message.envelope.format === PLAIN ? message.envelope.payload : null;
  if (!payload || !Array.isArray(payload.attachments)) return [];
  const ids = new Set(Array.isArray(message.attachment_ids) ? message.attachment_ids : []);
  return payload.attachments.filter((ref) => {
    if (!ref || typeof ref !== 'object' || !ids.has(ref.id)) return false;
    ids.delete(ref.id);
    return true;
  });
}

export function isDeleted(message) {
  return Boolean(message.deleted_at) || !message.envelope;
}

// A server-written notice ("Alice Admin added Bob Tester.").
export function eventText(message) {
  const payload = (message.envelope && message.envelope.payload) || {};
  const actor = (message.sender && message.sender.name) || 'Someone';
  const listed = listNames(Array.isArray(payload.names) ? payload.names : []);
  const names = listed || 'someone';
  const name = typeof payload.name === 'string' ? payload.name : '';
  const group = name ? `the group "${name}"` : 'the group';
  switch (payload.event) {
    case 'created': return listed ? `${actor} created ${group} with ${listed}.` : `${actor} created ${group}.`;
    case 'renamed': return name ? `${actor} named the group "${name}".` : `${actor} removed the group's name.`;
    case 'added': return `${actor} added ${names}.`;
    case 'removed': return `${actor} removed ${names}.`;
    case 'left': return `${actor} left.`;
    default: return `${actor} changed the conversation.`;
  }
}

// What a message says in one line, for the conversation list and notifications.
function bodyPreview(message) {
  if (message.envelope.format !== PLAIN) return 'Message';
  const line = textOf(message).replace(/\s+/g, ' ').trim();
  if (line) return line;
  const attachments = attachmentsOf(message);
  if (!attachments.length) return '';
  const [first] = attachments;
  const more = attachments.length > 1 ? ` +${attachments.length - 1}` : '';
  if (first.kind === 'voice') return `🎤 Voice message (${minutesSeconds(first.duration_seconds)})${more}`;
  return `📎 ${first.name || 'file'}${more}`;
}

export function previewOf(message, { meId, isGroup }) {
  if (!message) return 'No messages yet';
  if (message.kind === 'event') return eventText(message);
  if (isDeleted(message)) return 'This message was deleted';
  const body = bodyPreview(message);
  if (message.sender && message.sender.user_id === meId) return `You: ${body}`;
  return isGroup && message.sender ? `${firstName(message.sender.name)}: ${body}` : body;
}

export function reactionLabel(reaction) {
  const names = Array.isArray(reaction.names) && reaction.names.length ? reaction.names : [`${reaction.count} people`];
  return `${reaction.emoji} by ${listNames(names)}`;
}

// "Bob Tester is typing…", "Bob and Carol are typing…", "Several people are typing…".
export function typingText(names) {
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${firstName(names[0])} and ${firstName(names[1])} are typing…`;
  return 'Several people are typing…';
}

// ---- times ----

export function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function fullDate(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
}

export function dayKey(iso) {
  return new Date(iso).toDateString();
}

function daysAgo(date) {
  const start = (day) => new Date(day.getFullYear(), day.getMonth(), day.getDate()).getTime();
  return Math.round((start(new Date()) - start(date)) / 86400000);
}

// The day separator of the message list: Today, Yesterday, Monday, March 3, or with the year.
export function dayLabel(iso) {
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0) return 'Today';
  if (ago === 1) return 'Yesterday';
  const options = { weekday: 'long', month: 'long', day: 'numeric' };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString([], options);
}

// The conversation list's time: 10:42, Yesterday, Mon, 3/14.
export function listTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0) return timeOf(iso);
  if (ago === 1) return 'Yesterday';
  if (ago < 7) return date.toLocaleDateString([], { weekday: 'short' });
  const options = { month: 'numeric', day: 'numeric' };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = '2-digit';
  return date.toLocaleDateString([], options);
}

// ---- text ----

function count(text, char) {
  return text.split(char).length - 1;
}

// A URL ends before trailing punctuation, and before a closing bracket it did not open.
function trimUrl(url) {
  let end = url.length;
  while (end > 0) {
    const char = url[end - 1];
    const opener = CLOSERS[char];
    if ('.,;:!?\'"*'.includes(char) || (opener && count(url.slice(0, end), opener) < count(url.slice(0, end), char))) end -= 1;
    else break;
  }
  return url.slice(0, end);
}

function hrefOf(url) {
  try {
    const parsed = new URL(/^www\./i.test(url) ? `https://${url}` : url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

// Text with its http(s) and www. addresses as links that open in a new tab.
export function linkify(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = url && hrefOf(url);
    if (!href) continue;
    if (match.index > last) nodes.push(text.slice(last, match.index));
    nodes.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, url));
    last = match.index + url.length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

function termPattern(terms) {
  const words = terms.filter(Boolean).map((term) => term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return words.length ? new RegExp(`(${words.join('|')})`, 'giu') : null;
}

// Text with the searched words in <mark>.
export function highlight(text, terms) {
  const pattern = termPattern(terms);
  if (!pattern) return [text];
  return text.split(pattern).map((part, index) => (index % 2 ? h('mark', {}, part) : part)).filter((part) => part !== '');
}

// Up to ~140 characters of `text` around the first searched word.
export function snippet(text, terms) {
  const flat = text.replace(/\s+/g, ' ').trim();
  const pattern = termPattern(terms);
  const found = pattern ? flat.search(pattern) : -1;
  let start = found > 50 ? flat.lastIndexOf(' ', found - 40) + 1 : 0;
  if (start < 0) start = 0;
  const end = Math.min(flat.length, start + 140);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

function isJumbo(text) {
  if (!text || text.length > 40 || !ONLY_EMOJI.test(text)) return false;
  const units = text.match(EMOJI_UNIT);
  return Boolean(units) && units.length <= 3;
}

// A text box as tall as its text, up to its CSS max-height.
export function grow(textarea) {
  if (!textarea.value) {
    textarea.style.height = ''; // one line, however long the placeholder
    return;
  }
  textarea.style.height = 'auto';
  textarea.style.height = `${textarea.scrollHeight + 2}px`;
}

// ---- a message ----

function avatarOf(name) {
  return h('span', { class: 'avatar chat-avatar', 'aria-hidden': 'true' }, initials(name || '?'));
}

function reactionsOf(message, context) {
  const reactions = Array.isArray(message.reactions) ? message.reactions : [];
  if (!reactions.length) return null;
  return h('div', { class: 'chat-reactions', role: 'group', 'aria-label': 'Reactions' },
    reactions.map((reaction) => {
      const mine = Array.isArray(reaction.user_ids) && reaction.user_ids.includes(context.meId);
      const label = reactionLabel(reaction);
      return h('button', {
        type: 'button', class: 'chat-reaction', 'aria-pressed': String(mine), dataset: { emoji: reaction.emoji },
        title: label, 'aria-label': label, onclick: () => context.onReact(message, reaction.emoji, !mine),
      }, h('span', { class: 'chat-reaction-emoji', 'aria-hidden': 'true' }, reaction.emoji),
      h('span', { class: 'chat-reaction-count', 'aria-hidden': 'true' }, String(reaction.count)));
    }),
    h('button', {
      type: 'button', class: 'chat-reaction chat-reaction-add', 'aria-label': 'Add a reaction', title: 'Add a reaction',
      onclick: (event) => context.onReactButton(message, event.currentTarget),
    }, icon('smile-plus')));
}

function contentOf(message) {
  if (message.envelope.format !== PLAIN) {
    return [h('p', { class: 'chat-text chat-unsupported' }, 'This message can\'t be shown in this version of TOC.')];
  }
  const text = textOf(message);
  const attachments = attachmentsOf(message);
  const edited = message.edited_at
    ? h('span', { class: 'chat-edited', title: `Edited ${fullDate(message.edited_at)}` }, ' (edited)')
    : null;
  const parts = [];
  if (text) parts.push(h('p', { class: `chat-text${isJumbo(text.trim()) ? ' jumbo' : ''}` }, linkify(text), edited));
  if (attachments.length) parts.push(renderAttachments(attachments));
  if (!text && edited) parts.push(h('p', { class: 'chat-text' }, edited));
  return parts;
}

function actionsOf(message, context) {
  return h('div', { class: 'chat-message-actions' },
    h('button', {
      type: 'button', class: 'icon-button', tabindex: '-1', 'aria-label': 'React', title: 'React',
      onclick: (event) => context.onReactButton(message, event.currentTarget),
    }, icon('smile-plus')),
    h('button', {
      type: 'button', class: 'icon-button', tabindex: '-1', 'aria-label': 'More actions', title: 'More actions (Shift+F10)',
      'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'chat-menu',
      onclick: (event) => context.onMore(message, event.currentTarget),
    }, icon('ellipsis')));
}

function head(name, iso, extra = null) {
  return h('p', { class: 'chat-message-head' },
    h('span', { class: 'chat-sender' }, name), ' ',
    h('time', { datetime: iso, title: fullDate(iso) }, timeOf(iso)), extra);
}

// One message of the list. `context`: { meId, editor, onReact, onReactButton, onMore }.
export function messageElement(message, context) {
  if (message.kind === 'event') {
    return h('li', { class: 'chat-event', dataset: { messageId: message.id, sequence: String(message.sequence), day: dayKey(message.created_at), at: message.created_at } },
      h('p', {}, eventText(message), ' ',
        h('time', { datetime: message.created_at, title: fullDate(message.created_at) }, timeOf(message.created_at))));
  }
  const deleted = isDeleted(message);
  const mine = message.sender.user_id === context.meId;
  const body = h('div', { class: 'chat-message-body' }, head(message.sender.name, message.created_at));
  if (deleted) body.append(h('p', { class: 'chat-text chat-deleted' }, 'This message was deleted.'));
  else if (context.editor) body.append(context.editor);
  else body.append(...contentOf(message));
  const reactions = deleted ? null : reactionsOf(message, context);
  if (reactions) body.append(reactions);
  return h('li', {
    class: `chat-message${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}`,
    dataset: { messageId: message.id, sequence: String(message.sequence), senderId: String(message.sender.user_id), day: dayKey(message.created_at), at: message.created_at },
    tabindex: '-1', 'aria-keyshortcuts': deleted ? null : 'Shift+F10',
  }, avatarOf(message.sender.name), sideTime(message.created_at), body, deleted ? null : actionsOf(message, context));
}

// The time beside a message that continues its sender's group, shown on hover and focus.
function sideTime(iso) {
  return h('time', { class: 'chat-side-time', datetime: iso, 'aria-hidden': 'true' }, timeOf(iso).replace(/\s*[AP]\.?M\.?$/i, ''));
}

// A message of mine on its way: "Sending…", or "Not sent" with Retry and Discard.
export function pendingElement(item, { onRetry, onDiscard }) {
  const failed = item.state === 'failed';
  const state = failed
    ? h('p', { class: 'chat-send-state failed', role: 'alert' }, 'Not sent — ',
      h('button', { type: 'button', class: 'link-button chat-retry', onclick: () => onRetry(item) }, 'Retry'), ' · ',
      h('button', { type: 'button', class: 'link-button chat-discard', onclick: () => onDiscard(item) }, 'Discard'))
    : h('p', { class: 'chat-send-state' }, 'Sending…');
  const fake = { ...item, sequence: 0, reactions: [], edited_at: null };
  const recorded = item.upload // a voice message not uploaded yet
    ? h('p', { class: 'chat-text chat-voice-label' }, icon('mic'), h('span', {}, `Voice message · ${formatDuration(item.upload.durationSeconds)}`))
    : null;
  return h('li', {
    class: `chat-message mine pending${failed ? ' failed' : ''}`,
    dataset: { clientId: item.client_id, senderId: String(item.sender.user_id), day: dayKey(item.created_at), at: item.created_at },
  }, avatarOf(item.sender.name), h('div', { class: 'chat-message-body' }, head(item.sender.name, item.created_at), contentOf(fake), recorded, state));
}

// ---- the conversation list and search results ----

export function conversationAvatar(conversation, name) {
  return h('span', { class: `avatar${conversation.kind === 'group' ? ' group' : ''}`, 'aria-hidden': 'true' },
    conversation.kind === 'group' && !conversation.has_name ? icon('users') : initials(name));
}

// `context`: { meId, selected, typing, onOpen, onKey }.
export function conversationRow(conversation, context) {
  const name = conversationName(conversation, context.meId);
  const unread = conversation.unread_count || 0;
  const at = conversation.last_message_at || conversation.created_at;
  const preview = context.typing
    ? h('span', { class: 'entry-sub chat-preview typing' }, context.typing)
    : h('span', { class: 'entry-sub chat-preview' }, previewOf(conversation.last_message, { meId: context.meId, isGroup: conversation.kind === 'group' }));
  return h('li', {
    class: `chat-row${unread ? ' unread' : ''}${conversation.is_muted ? ' muted' : ''}`,
    dataset: { conversationId: conversation.id, kind: conversation.kind },
  }, h('button', {
    type: 'button', class: `entry chat-entry${context.selected ? ' selected' : ''}`, 'aria-current': context.selected ? 'true' : null,
    onclick: () => context.onOpen(conversation), onkeydown: context.onKey,
  },
  conversationAvatar(conversation, name),
  h('span', { class: 'entry-text' },
    h('span', { class: 'chat-entry-line' },
      h('span', { class: 'entry-name' }, name),
      h('time', { class: 'chat-entry-time', datetime: at, title: at ? fullDate(at) : '' }, listTime(at))),
    h('span', { class: 'chat-entry-line' },
      preview,
      conversation.is_muted ? h('span', { class: 'chat-muted-icon', title: 'Muted' }, icon('bell-off'), h('span', { class: 'visually-hidden' }, 'Muted')) : null,
      unread ? h('span', { class: 'chat-unread-count', title: `${unread} unread` },
        h('span', { 'aria-hidden': 'true' }, unread > 99 ? '99+' : String(unread)),
        h('span', { class: 'visually-hidden' }, `, ${unread} unread`)) : null))));
}

export function searchResultElement(result, { terms, meId, name, onOpen }) {
  const { conversation, message } = result;
  const text = textOf(message) || attachmentsOf(message).map((ref) => ref.name).join(', ');
  const mine = message.sender && message.sender.user_id === meId;
  const sender = mine ? 'You' : (message.sender ? message.sender.name : '');
  return h('li', { class: 'chat-search-result', dataset: { conversationId: conversation.id, messageId: message.id, sequence: String(message.sequence) } },
    h('button', { type: 'button', class: 'entry chat-entry', onclick: () => onOpen(result) },
      conversationAvatar(conversation, name),
      h('span', { class: 'entry-text' },
        h('span', { class: 'chat-entry-line' },
          h('span', { class: 'entry-name' }, name),
          h('time', { class: 'chat-entry-time', datetime: message.created_at, title: fullDate(message.created_at) }, listTime(message.created_at))),
        h('span', { class: 'chat-result-sender' }, sender),
        h('span', { class: 'chat-result-text' }, highlight(snippet(text, terms), terms)))));
}
