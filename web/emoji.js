// Emoji for the chat: the catalogue (GET /api/chat/emoji/, built by toc/chat/emoji.py from the
// `emoji` package), `:shortcode:` replacement with the server's rules, search, and the picker
// popover. The picker imitates menu.js: Escape or a click elsewhere closes it and gives focus
// back to the button that opened it; arrow keys move in the grid, Tab goes search ↔ grid.

import { api } from './api.js';
import { h } from './dom.js';

const RECENT_KEY = 'toc.emoji.recent';
const RECENT_LIMIT = 24;
const CHUNK = 240; // emoji rendered at a time: opening stays fast, scrolling renders the rest
const SUGGESTION_LIMIT = 8;

// The same rules as toc/chat/emoji.py: `:code:` not glued to a letter or digit on either side.
const SHORTCODE = /(?<![\p{L}\p{N}_]):([\p{L}\p{N}_+\-&.’()!#*]+):(?![\p{L}\p{N}_])/gu;
const PARTIAL_SHORTCODE = /(?<![\p{L}\p{N}_:]):([\p{L}\p{N}_+\-&.’()!#*]{2,})$/u;
const WORD_SEPARATORS = /[\s_\-().,’:!&]+/u;

let catalogue = null; // [{ char, name, shortcodes }] in the server's order
let byChar = new Map();
let shortcodeTable = new Map();
let loading = null;

// The catalogue, fetched once per page (and cached by the browser: it has an ETag).
export async function loadEmoji() {
  if (catalogue) return catalogue;
  loading ||= api('GET', 'chat/emoji/').then((data) => {
    useCatalogue(data.emoji);
    return catalogue;
  }).catch((error) => {
    loading = null; // let the next call try again
    throw error;
  });
  return loading;
}

function useCatalogue(list) {
  catalogue = list.map((entry) => ({ ...entry, ...searchKeys(entry) }));
  byChar = new Map(catalogue.map((entry) => [entry.char, entry]));
  // An emoji's English name (its first shortcode) wins over another emoji's alias; an exact
  // match over a case-insensitive one.
  shortcodeTable = new Map();
  for (const entry of catalogue) setDefault(shortcodeTable, entry.shortcodes[0], entry.char);
  for (const entry of catalogue) for (const code of entry.shortcodes.slice(1)) setDefault(shortcodeTable, code, entry.char);
  for (const [code, char] of [...shortcodeTable]) setDefault(shortcodeTable, code.toLowerCase(), char);
}

function setDefault(map, key, value) {
  if (!map.has(key)) map.set(key, value);
}

function searchKeys(entry) {
  const phrases = [entry.name, ...entry.shortcodes.map((code) => code.replaceAll('_', ' '))].map((text) => text.toLowerCase());
  const words = new Set(phrases.flatMap((phrase) => phrase.split(WORD_SEPARATORS)).filter(Boolean));
  return { phrases, words: [...words] };
}

export function emojiForShortcode(code) {
  return shortcodeTable.get(code) || shortcodeTable.get(code.toLowerCase()) || null;
}

// `text` with every known `:shortcode:` replaced; unchanged while the catalogue is not loaded.
export function replaceShortcodes(text) {
  if (!catalogue) return text;
  return text.replace(SHORTCODE, (match, code) => emojiForShortcode(code) || match);
}

// The emoji matching `query` by name and shortcode words: exact names or shortcodes first, then
// those whose name or a shortcode starts with the query, then those where every query word starts
// a word, then those containing every query word anywhere. Each group keeps the catalogue's order.
export function searchEmoji(query, limit = Infinity) {
  if (!catalogue) return [];
  const phrase = query.toLowerCase().replace(/^:+|:+$/g, '').replaceAll('_', ' ').trim();
  if (!phrase) return catalogue.slice(0, limit);
  const terms = phrase.split(WORD_SEPARATORS).filter(Boolean);
  const ranked = [[], [], [], []];
  for (const entry of catalogue) {
    if (entry.phrases.includes(phrase)) ranked[0].push(entry);
    else if (entry.phrases.some((text) => text.startsWith(phrase))) ranked[1].push(entry);
    else if (terms.every((term) => entry.words.some((word) => word.startsWith(term)))) ranked[2].push(entry);
    else if (terms.length && terms.every((term) => entry.phrases.some((text) => text.includes(term)))) ranked[3].push(entry);
  }
  return ranked.flat().slice(0, limit);
}

// Completion for a text field: when the text before the caret ends with `:` and two or more
// shortcode characters (`:thu`), the emoji to offer and the range a choice replaces
// (`text.slice(0, start) + entry.char + text.slice(end)`); otherwise null.
export function shortcodeCompletion(text, caret = text.length, limit = SUGGESTION_LIMIT) {
  if (!catalogue) return null;
  const match = PARTIAL_SHORTCODE.exec(text.slice(0, caret));
  if (!match) return null;
  const items = searchEmoji(match[1], limit);
  return items.length ? { start: match.index, end: caret, query: match[1], items } : null;
}

// The newest Emoji version this browser's fonts draw: one sample per version is drawn on a
// canvas. It counts when it leaves ink, is one glyph wide (an unknown sequence draws its parts
// side by side) and is in colour or at least unlike a code point no font has (a blank or a box).
// Infinity when it cannot be told.
let drawableVersion = null;
const EMOJI_FONT = '"Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji Mozilla", sans-serif';
const OLDEST_CHECKED_VERSION = 12;
const NO_FONT_HAS_IT = '\u{10FFFD}'; // a private-use code point

function newestDrawableVersion() {
  if (drawableVersion !== null) return drawableVersion;
  drawableVersion = Infinity;
  const context = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  if (!context || !catalogue) return drawableVersion;
  const size = 40;
  context.canvas.width = context.canvas.height = size;
  context.font = `24px ${EMOJI_FONT}`;
  context.textBaseline = 'top';
  const paint = (char) => {
    context.clearRect(0, 0, size, size);
    context.fillText(char, 2, 2);
    return context.getImageData(0, 0, size, size).data;
  };
  const missing = paint(NO_FONT_HAS_IT);
  const baseWidth = context.measureText('😀').width;
  const draws = (char) => {
    const pixels = paint(char);
    if (context.measureText(char).width >= baseWidth * 1.5) return false;
    let ink = false;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] < 64) continue;
      ink = true;
      if (Math.abs(pixels[i] - pixels[i + 1]) > 24 || Math.abs(pixels[i + 1] - pixels[i + 2]) > 24) return true;
    }
    return ink && pixels.some((value, i) => value !== missing[i]);
  };
  if (!draws('😀')) return drawableVersion; // no emoji font at all: show everything
  const samples = new Map(); // version → a sample, a single code point when the version has one
  for (const entry of catalogue) {
    if (entry.version < OLDEST_CHECKED_VERSION) continue;
    const sample = samples.get(entry.version);
    if (!sample || ([...sample].length > 1 && [...entry.char].length === 1)) samples.set(entry.version, entry.char);
  }
  const versions = [...samples.keys()].sort((a, b) => a - b);
  const first = versions.findIndex((version) => !draws(samples.get(version)));
  if (first >= 0) drawableVersion = first > 0 ? versions[first - 1] : OLDEST_CHECKED_VERSION - 1;
  return drawableVersion;
}

function drawable(entry) {
  return !(entry.version > newestDrawableVersion());
}

function readRecent() {
  try {
    const stored = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(stored) ? stored.filter((char) => typeof char === 'string').slice(0, RECENT_LIMIT) : [];
  } catch {
    return [];
  }
}

function remember(char) {
  const recent = [char, ...readRecent().filter((other) => other !== char)].slice(0, RECENT_LIMIT);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // private mode or a full storage: the picker works without a history
  }
}

function ensureStylesheet() {
  if (document.querySelector('link[data-emoji-stylesheet]')) return;
  document.head.append(h('link', { rel: 'stylesheet', href: new URL('./emoji.css', import.meta.url).href, 'data-emoji-stylesheet': true }));
}

let pickerCount = 0;

export class EmojiPicker {
  constructor() {
    ensureStylesheet();
    const id = `emoji-picker-${++pickerCount}`;
    this.anchor = null;
    this.onPick = null;
    this.results = [];
    this.rendered = 0;
    this.search = h('input', {
      type: 'search', class: 'emoji-search', placeholder: 'Search emoji', 'aria-label': 'Search emoji',
      autocomplete: 'off', spellcheck: 'false', 'aria-controls': `${id}-grid`,
      oninput: () => this.filter(),
    });
    this.status = h('p', { class: 'emoji-status', role: 'status' });
    this.recentTitle = h('h3', { class: 'emoji-section-title', id: `${id}-recent` }, 'Recently used');
    this.recentGrid = h('div', { class: 'emoji-grid', role: 'group', 'aria-labelledby': `${id}-recent` });
    this.gridTitle = h('h3', { class: 'emoji-section-title', id: `${id}-all` }, 'All emoji');
    this.grid = h('div', { class: 'emoji-grid', id: `${id}-grid`, role: 'group', 'aria-labelledby': `${id}-all` });
    this.sentinel = h('div', { class: 'emoji-sentinel', 'aria-hidden': 'true' });
    this.scroller = h('div', { class: 'emoji-scroller' },
      this.recentTitle, this.recentGrid, this.gridTitle, this.grid, this.sentinel, this.status);
    this.previewChar = h('span', { class: 'emoji-preview-char', 'aria-hidden': 'true' });
    this.previewName = h('span', { class: 'emoji-preview-name' });
    this.previewCode = h('span', { class: 'emoji-preview-code' });
    this.element = h('div', {
      class: 'emoji-picker', role: 'dialog', 'aria-label': 'Emoji', id,
      onkeydown: (event) => this.keydown(event),
      onclick: (event) => this.click(event),
      onfocusin: (event) => this.preview(event.target),
      onpointerover: (event) => this.preview(event.target),
    },
    h('div', { class: 'emoji-search-row' }, this.search),
    this.scroller,
    h('div', { class: 'emoji-preview', 'aria-hidden': 'true' }, this.previewChar, h('span', { class: 'emoji-preview-text' }, this.previewName, this.previewCode)));
    this.element.hidden = true;
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.renderMore();
    }, { root: this.scroller, rootMargin: '200px' });
    this.observer.observe(this.sentinel);
    document.addEventListener('pointerdown', (event) => {
      if (this.isOpen && !this.element.contains(event.target) && !(this.anchor && this.anchor.contains(event.target))) {
        this.close({ restoreFocus: false });
      }
    }, true);
    window.addEventListener('resize', () => {
      if (this.isOpen) this.place();
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  // Opens next to `anchorButton` (which gets aria-expanded); `onPick(char)` receives the choice.
  // Opening again from the same button closes it (a toggle, like a menu button).
  open(anchorButton, onPick) {
    if (this.isOpen && this.anchor === anchorButton) {
      this.close();
      return;
    }
    this.close({ restoreFocus: false });
    this.anchor = anchorButton;
    this.onPick = onPick;
    if (!this.element.isConnected) document.body.append(this.element);
    anchorButton.setAttribute('aria-expanded', 'true');
    if (!anchorButton.hasAttribute('aria-haspopup')) anchorButton.setAttribute('aria-haspopup', 'dialog');
    anchorButton.setAttribute('aria-controls', this.element.id);
    this.search.value = '';
    this.element.hidden = false;
    this.place();
    this.search.focus();
    if (catalogue) {
      this.filter();
      return;
    }
    this.showStatus('Loading emoji…');
    loadEmoji().then(() => {
      if (this.isOpen) this.filter();
    }, () => {
      if (this.isOpen) this.showStatus('Emoji could not be loaded. Close and try again.');
    });
  }

  close({ restoreFocus = true } = {}) {
    if (!this.isOpen) return;
    const hadFocus = this.element.contains(document.activeElement);
    this.element.hidden = true;
    const anchor = this.anchor;
    this.anchor = null;
    this.onPick = null;
    if (!anchor) return;
    anchor.setAttribute('aria-expanded', 'false');
    if (restoreFocus && hadFocus && anchor.isConnected) anchor.focus();
  }

  // Next to the anchor: below it when there is room, else above; always inside the window.
  place() {
    const { style } = this.element;
    const margin = 8;
    style.left = '0px';
    style.top = '0px';
    const box = this.element.getBoundingClientRect();
    const anchor = this.anchor.getBoundingClientRect();
    const roomBelow = window.innerHeight - anchor.bottom - margin;
    let top = roomBelow >= box.height + 4 || roomBelow >= anchor.top ? anchor.bottom + 4 : anchor.top - box.height - 4;
    top = Math.max(margin, Math.min(top, window.innerHeight - box.height - margin));
    const left = Math.max(margin, Math.min(anchor.left, window.innerWidth - box.width - margin));
    style.left = `${left}px`;
    style.top = `${top}px`;
  }

  filter() {
    const query = this.search.value.trim();
    this.results = searchEmoji(query).filter(drawable);
    const recent = query ? [] : readRecent().map((char) => byChar.get(char)).filter((entry) => entry && drawable(entry));
    this.recentGrid.replaceChildren(...recent.map((entry) => option(entry)));
    this.recentTitle.hidden = this.recentGrid.hidden = !recent.length;
    this.gridTitle.textContent = query ? 'Search results' : 'All emoji';
    this.gridTitle.hidden = !this.results.length;
    this.grid.replaceChildren();
    this.rendered = 0;
    this.renderMore();
    this.scroller.scrollTop = 0;
    // Read out by screen readers; shown only when nothing matches.
    this.showStatus(query ? (this.results.length ? `${this.results.length} found` : 'No emoji found') : '', {
      visible: !this.results.length,
    });
    const first = this.options()[0];
    this.setActive(first || null);
    this.preview(first || null);
  }

  showStatus(text, { visible = true } = {}) {
    this.status.textContent = text;
    this.status.classList.toggle('visually-hidden', !visible);
  }

  renderMore(count = CHUNK) {
    if (this.rendered >= this.results.length) return false;
    const next = this.results.slice(this.rendered, this.rendered + count);
    this.grid.append(...next.map((entry) => option(entry)));
    this.rendered += next.length;
    return true;
  }

  options() {
    return [...this.recentGrid.children, ...this.grid.children];
  }

  // A roving tabindex: one option is in the tab order, so Tab goes search ↔ grid.
  setActive(button) {
    const current = this.element.querySelector('.emoji-option[tabindex="0"]');
    if (current && current !== button) current.tabIndex = -1;
    if (button) button.tabIndex = 0;
  }

  preview(target) {
    const button = target && target.closest ? target.closest('.emoji-option') : null;
    const entry = button ? byChar.get(button.dataset.char) : null;
    this.previewChar.textContent = entry ? entry.char : '';
    this.previewName.textContent = entry ? entry.name : '';
    this.previewCode.textContent = entry ? `:${entry.shortcodes[0]}:` : '';
  }

  click(event) {
    const button = event.target.closest('.emoji-option');
    if (button) this.pick(button.dataset.char, { keepOpen: event.shiftKey });
  }

  pick(char, { keepOpen = false } = {}) {
    const onPick = this.onPick;
    remember(char);
    if (!keepOpen) this.close();
    if (onPick) onPick(char);
  }

  keydown(event) {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close();
      return;
    }
    if (event.key === 'Tab') {
      event.preventDefault();
      const active = this.element.querySelector('.emoji-option[tabindex="0"]');
      if (document.activeElement === this.search && active) active.focus();
      else this.search.focus();
      return;
    }
    if (event.target === this.search) {
      if (event.key === 'Enter' && this.results.length) {
        event.preventDefault();
        this.pick(this.results[0].char, { keepOpen: event.shiftKey });
      } else if (event.key === 'ArrowDown') {
        event.preventDefault();
        this.focusOption(this.element.querySelector('.emoji-option[tabindex="0"]') || this.options()[0]);
      }
      return;
    }
    const button = event.target.closest('.emoji-option');
    if (!button) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.pick(button.dataset.char, { keepOpen: event.shiftKey });
      return;
    }
    const next = this.neighbour(button, event.key);
    if (next !== undefined) {
      event.preventDefault();
      if (next) this.focusOption(next);
      else if (event.key === 'ArrowUp') this.search.focus();
    }
  }

  focusOption(button) {
    if (!button) return;
    this.setActive(button);
    button.focus({ preventScroll: true });
    button.scrollIntoView({ block: 'nearest' });
  }

  // The option an arrow key (or Home/End) moves to from `button`: undefined for other keys,
  // null when there is none in that direction. Rows are found by position, so the "Recently
  // used" row and the grid form one surface.
  neighbour(button, key) {
    let options = this.options();
    const at = options.indexOf(button);
    if (key === 'ArrowRight' || key === 'ArrowDown' || key === 'End') {
      const atEnd = key === 'End' ? this.renderMore(Infinity) : at >= options.length - 1 - this.columns() && this.renderMore();
      if (atEnd) options = this.options();
    }
    if (key === 'ArrowLeft') return options[at - 1] || null;
    if (key === 'ArrowRight') return options[at + 1] || null;
    if (key === 'Home') return options[0] || null;
    if (key === 'End') return options[options.length - 1] || null;
    if (key === 'ArrowDown' || key === 'ArrowUp') return nextRow(options, at, key === 'ArrowDown' ? 1 : -1);
    return undefined;
  }

  columns() {
    return getComputedStyle(this.grid).gridTemplateColumns.split(' ').length;
  }
}

// The option in the row above or below options[at], nearest to it horizontally.
function nextRow(options, at, step) {
  const from = options[at].getBoundingClientRect();
  let index = at + step;
  while (index >= 0 && index < options.length && Math.abs(options[index].getBoundingClientRect().top - from.top) < 2) index += step;
  if (index < 0 || index >= options.length) return null;
  const rowTop = options[index].getBoundingClientRect().top;
  let best = options[index];
  for (; index >= 0 && index < options.length; index += step) {
    const box = options[index].getBoundingClientRect();
    if (Math.abs(box.top - rowTop) >= 2) break;
    if (Math.abs(box.left - from.left) < Math.abs(best.getBoundingClientRect().left - from.left)) best = options[index];
  }
  return best;
}

function option(entry) {
  return h('button', {
    type: 'button', class: 'emoji-option', tabindex: '-1', 'aria-label': entry.name,
    title: `:${entry.shortcodes[0]}:`, dataset: { char: entry.char },
  }, entry.char);
}
