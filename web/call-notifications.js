// A desktop notification for each call ringing here while the window is hidden or not focused
// (with notifications allowed); it closes when the call stops ringing, and a click brings the
// window, with the call's Answer / Decline toast, to the front.

export class CallNotifications {
  constructor() {
    this.shown = new Map(); // session key -> Notification
  }

  sync(ringingSessions) {
    const keys = new Set();
    for (const session of ringingSessions) {
      keys.add(session.key);
      if (!this.shown.has(session.key) && session.direction === 'incoming') this.show(session);
    }
    for (const [key, notification] of this.shown) {
      if (!keys.has(key)) {
        notification.close();
        this.shown.delete(key);
      }
    }
  }

  show(session) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    if (!document.hidden && document.hasFocus()) return;
    const { name, number } = session.counterpart || (session.call && session.call.counterpart) || {};
    const who = name && number && name !== number ? `${name} (${number})` : name || number || 'Unknown caller';
    try {
      const notification = new Notification('Incoming call', { body: who, tag: `call-${session.id}`, requireInteraction: true });
      notification.onclick = () => {
        window.focus();
        notification.close();
      };
      this.shown.set(session.key, notification);
    } catch {
      // Some browsers only allow notifications from a service worker: the ringtone still plays.
    }
  }
}
