// A message's attachments as the chat shows them: a picture preview, a voice message player
// with its length, or a file card with Download; and the size and length formats the
// composer shares.

import { h, icon } from './dom.js';

export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const UNITS = ['KB', 'MB', 'GB', 'TB'];

// 1536 -> "1.5 KB"; binary units, as the server's own messages count them.
export function formatBytes(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  if (value < 1024) return `${Math.round(value)} B`;
  let unit = -1;
  do {
    value /= 1024;
    unit += 1;
  } while (value >= 1024 && unit < UNITS.length - 1);
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} ${UNITS[unit]}`;
}

// 5 -> "0:05", 83.4 -> "1:23", 3725 -> "1:02:05".
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

export function attachmentUrl(id) {
  return `/api/chat/attachments/${encodeURIComponent(id)}/`;
}

function imageAttachment(ref, url) {
  const link = h('a', { class: 'chat-image-link', href: url, target: '_blank', rel: 'noopener', title: `Open ${ref.name} in a new tab` },
    h('img', {
      src: url, alt: ref.name, loading: 'lazy', decoding: 'async',
      onerror: () => link.replaceChildren(icon('image'), h('span', {}, 'The image is not available.')),
    }));
  return [link, h('span', { class: 'chat-attachment-name', title: ref.name }, ref.name)];
}

// A voice message recorded by Chrome carries no duration in its header: its player would show
// no length (and no usable timeline) until played through. Seeking far past the end makes the
// browser find it; then back to the start.
function findDuration(audio) {
  if (audio.duration !== Infinity) return;
  audio.addEventListener('durationchange', () => { audio.currentTime = 0; }, { once: true });
  audio.currentTime = 1e101;
}

function pauseOtherPlayers(event) {
  for (const other of document.querySelectorAll('.chat-voice audio')) if (other !== event.target) other.pause();
}

function voiceAttachment(ref, url) {
  const length = Number.isFinite(ref.duration_seconds) && ref.duration_seconds > 0 ? formatDuration(ref.duration_seconds) : '';
  const label = length ? `Voice message · ${length}` : 'Voice message';
  return [
    h('span', { class: 'chat-voice-label' }, icon('mic'), h('span', {}, label)),
    h('audio', {
      controls: true, preload: 'metadata', src: url, 'aria-label': label,
      onloadedmetadata: (event) => findDuration(event.target), onplay: pauseOtherPlayers,
    }),
  ];
}

function fileAttachment(ref, url) {
  return [
    h('span', { class: 'chat-file-icon', 'aria-hidden': 'true' }, icon('file')),
    h('span', { class: 'chat-file-text' },
      h('span', { class: 'chat-attachment-name', title: ref.name }, ref.name),
      h('span', { class: 'chat-file-size' }, formatBytes(ref.size))),
    h('a', { class: 'button small-button chat-download', href: `${url}?download=1`, download: ref.name },
      icon('download'), 'Download', h('span', { class: 'visually-hidden' }, ` ${ref.name}`)),
  ];
}

// The attachments of a toc.plain/1 payload, as one element. The payload comes from other
// people's clients: anything malformed is skipped, never trusted.
export function renderAttachments(refs) {
  const box = h('div', { class: 'chat-attachments' });
  for (const raw of Array.isArray(refs) ? refs : []) {
    if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string' || !raw.id) continue;
    const ref = { ...raw, name: String(raw.name || 'file'), size: Number(raw.size) || 0, duration_seconds: Number(raw.duration_seconds) || null };
    const url = attachmentUrl(ref.id);
    let kind = ref.kind === 'voice' || ref.kind === 'image' ? ref.kind : 'file';
    if (kind === 'image' && !IMAGE_TYPES.has(ref.content_type)) kind = 'file';
    const parts = kind === 'image' ? imageAttachment(ref, url) : kind === 'voice' ? voiceAttachment(ref, url) : fileAttachment(ref, url);
    box.append(h('div', { class: `chat-attachment chat-${kind}`, dataset: { attachmentId: ref.id, kind } }, parts));
  }
  return box;
}
