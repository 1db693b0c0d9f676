// Preferences: the default calling device and mobile number chosen in the wizard.

import { api } from './api.js';
import { showError } from './dom.js';

export class Preferences {
  constructor({ onSaved }) {
    this.onSaved = onSaved;
    this.form = document.getElementById('preferences-form');
    this.error = document.getElementById('preferences-error');
    this.ok = document.getElementById('preferences-ok');
    this.form.addEventListener('submit', (event) => this.submit(event));
  }

  show(me) {
    const radio = this.form.querySelector(`input[name="calling_device"][value="${me.calling_device}"]`);
    if (radio) radio.checked = true;
    this.form.elements.mobile_number.value = me.mobile_number;
    showError(this.error, '');
    this.ok.hidden = true;
  }

  async submit(event) {
    event.preventDefault();
    this.ok.hidden = true;
    const elements = this.form.elements;
    try {
      const me = await api('PATCH', 'me/preferences/', {
        calling_device: elements.calling_device.value,
        mobile_number: elements.mobile_number.value,
      });
      showError(this.error, '');
      this.ok.hidden = false;
      this.onSaved(me);
    } catch (error) {
      showError(this.error, error.describe ? error.describe() : String(error));
    }
  }
}
