// The one event socket: reconnects with backoff, pings as the server asks, and tells the
// app to refetch its state after every (re)connect so a dropped socket never leaves it stale.

const MAX_BACKOFF_MS = 30000;

export class EventSocket {
  constructor({ onEvent, onConnected, onDisconnected, onSignedOut }) {
    this.onEvent = onEvent;
    this.onConnected = onConnected;
    this.onDisconnected = onDisconnected;
    this.onSignedOut = onSignedOut;
    this.attempt = 0;
    this.socket = null;
    this.heartbeat = null;
    this.stopped = false;
  }

  start() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/events/`);
    this.socket = socket;
    socket.addEventListener('message', (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener('close', (event) => this.closed(event));
  }

  receive(event) {
    if (event.type === 'realtime.connected') {
      this.attempt = 0;
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send({ type: 'ping' }), event.heartbeat_seconds * 1000);
      this.onConnected();
    } else if (event.type === 'accounts.signed_out') {
      this.stopped = true;
      this.onSignedOut();
    } else if (event.type !== 'pong') {
      this.onEvent(event);
    }
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  closed(event) {
    clearInterval(this.heartbeat);
    if (this.stopped) return;
    this.onDisconnected();
    // 4401 or a refused handshake before any connect: the session is gone; the API call
    // the app makes on reconnect sends the user to the sign-in page.
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    setTimeout(() => this.start(), event.code === 4401 ? 0 : delay);
  }
}
