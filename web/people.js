// People to call, transfer to or invite: what dialling an entry means, and one result row of a
// live search (the Transfer window and the Conference window share them).

import { h, initials } from './dom.js';

// The number an entry's phone button dials: a colleague's extension, a contact's first number.
export function numberToCall(entry) {
  if (entry.kind === 'colleague') return entry.extension || '';
  const [field] = Object.keys(entry.numbers_display || {});
  return field ? entry[field] || '' : '';
}

// One search result as a button: picture, name, and what would be dialled.
export function personResult(entry, onChoose) {
  const number = numberToCall(entry);
  return h('li', {},
    h('button', { type: 'button', class: 'transfer-result', dataset: { destination: number }, onclick: () => onChoose(entry) },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(entry.name)),
      h('span', { class: 'entry-text' },
        h('span', { class: 'entry-name' }, entry.name),
        h('span', { class: 'entry-sub' }, entry.kind === 'colleague' ? `Ext. ${entry.extension}` : number))));
}
