// Pop-up menus (role="menu") built from a list of items: a context menu at the pointer, or a
// menu under the button that opened it. Arrow keys, Home and End move between the items,
// Escape closes it and gives focus back; Tab, a click elsewhere or choosing an item closes it.

import { h, icon } from './dom.js';

export class PopupMenu {
  // `element` is an empty `.menu` with role="menu" and an aria-label.
  constructor(element) {
    this.element = element;
    this.button = null;
    this.returnFocus = null;
    element.hidden = true;
    element.addEventListener('keydown', (event) => this.keydown(event));
    element.addEventListener('contextmenu', (event) => event.preventDefault());
    document.addEventListener('pointerdown', (event) => {
      if (this.isOpen && !element.contains(event.target) && !(this.button && this.button.contains(event.target))) this.close();
    }, true);
    window.addEventListener('resize', () => this.close());
  }

  get isOpen() {
    return !this.element.hidden;
  }

  // items: [{ label, glyph, action, hidden }]. Place it at `at` ({ x, y } in the viewport) or
  // under `button` (which gets aria-expanded). Focus goes to the first item.
  open(items, { at = null, button = null, returnFocus = null } = {}) {
    this.close({ restoreFocus: false });
    this.button = button;
    this.returnFocus = returnFocus || button || document.activeElement;
    this.element.replaceChildren(...items.filter((item) => !item.hidden).map((item) => h('button', {
      type: 'button', role: 'menuitem', class: 'menu-item', dataset: item.name ? { item: item.name } : {},
      onclick: () => {
        this.close();
        item.action();
      },
    }, item.glyph ? icon(item.glyph) : null, item.label)));
    this.element.hidden = false;
    if (button) button.setAttribute('aria-expanded', 'true');
    this.place(at || below(button));
    const first = this.element.querySelector('[role=menuitem]');
    if (first) first.focus();
  }

  // Keeps the menu inside the window: it opens up or to the left when there is no room.
  place({ x, y }) {
    const { style } = this.element;
    style.left = `${x}px`;
    style.top = `${y}px`;
    style.bottom = 'auto';
    const box = this.element.getBoundingClientRect();
    const margin = 8;
    style.left = `${Math.max(margin, Math.min(x, window.innerWidth - box.width - margin))}px`;
    style.top = `${Math.max(margin, y + box.height + margin > window.innerHeight ? y - box.height : y)}px`;
  }

  close({ restoreFocus = true } = {}) {
    if (!this.isOpen) return;
    this.element.hidden = true;
    if (this.button) this.button.setAttribute('aria-expanded', 'false');
    const target = this.returnFocus;
    this.button = null;
    this.returnFocus = null;
    if (restoreFocus && target && target.isConnected && this.element.contains(document.activeElement)) target.focus();
  }

  keydown(event) {
    const items = [...this.element.querySelectorAll('[role=menuitem]')];
    const at = items.indexOf(document.activeElement);
    let next = null;
    if (event.key === 'ArrowDown') next = items[(at + 1) % items.length];
    else if (event.key === 'ArrowUp') next = items[(at - 1 + items.length) % items.length];
    else if (event.key === 'Home') next = items[0];
    else if (event.key === 'End') next = items[items.length - 1];
    else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.close();
      return;
    } else if (event.key === 'Tab') {
      this.close();
      return;
    }
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }
}

function below(button) {
  if (!button) return { x: 0, y: 0 };
  const box = button.getBoundingClientRect();
  return { x: box.left, y: box.bottom + 4 };
}

// Whether a key press asks for an element's context menu (the Menu key, or Shift+F10).
export function isContextMenuKey(event) {
  return event.key === 'ContextMenu' || (event.shiftKey && event.key === 'F10');
}
