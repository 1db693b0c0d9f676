// Parked Calls (from the rail's additional-features menu): the calls waiting in park in the
// company, live; Pick up here dials the slot. The badge on More counts them.

import { api } from './api.js';
import { h } from './dom.js';

export class ParkedCalls {
  constructor({ onPickUp }) {
    this.onPickUp = onPickUp;
    this.list = document.getElementById('parked-list');
    this.badge = document.getElementById('parked-badge');
    this.rows = [];
  }

  async refresh() {
    try {
      this.rows = await api('GET', 'calls/parked/');
    } catch {
      return;
    }
    this.render();
  }

  render() {
    const count = this.rows.length;
    this.badge.hidden = !count;
    this.badge.textContent = String(count);
    this.badge.setAttribute('aria-label', `${count} parked ${count === 1 ? 'call' : 'calls'}`);
    if (!count) {
      this.list.replaceChildren(h('li', { class: 'list-empty' }, 'No calls are parked.'));
      return;
    }
    this.list.replaceChildren(...this.rows.map((row) => {
      const caller = row.caller.name || row.caller.number || 'Unknown caller';
      const back = row.ring_back_at
        ? ` · rings ${row.parked_by || 'the parker'} back at ${new Date(row.ring_back_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
        : '';
      return h('li', { class: 'parked-row', dataset: { slot: row.slot } },
        h('span', { class: 'parked-slot' }, row.slot),
        h('span', { class: 'entry-text' },
          h('span', { class: 'entry-name' }, caller),
          h('span', { class: 'entry-sub' }, `${row.parked_by ? `Parked by ${row.parked_by}` : 'Parked'}${back}`)),
        h('button', {
          type: 'button', class: 'button primary', 'aria-label': `Pick up the call parked at ${row.slot}`,
          onclick: () => this.onPickUp(row.slot, caller),
        }, 'Pick up here'));
    }));
  }
}
