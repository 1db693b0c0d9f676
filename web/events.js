// The one event socket: reconnects with backoff, pings as the server asks, and tells the
// app to refetch its state after every (re)connect so a dropped socket never leaves it stale.
// It also carries call signalling (docs/calls.md): `request()` sends a message with a fresh
// request_id and settles with the reply that echoes it.

const MAX_BACKOFF_MS = 30000;
const REQUEST_TIMEOUT_MS = 10000;

// A refused request: `code` is the server's (invalid, not_found, conflict, busy_system,
// rate_limited, refused) or ours (offline, timeout); the message is a sentence for the user.
export class SignallingError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

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
    this.pending = new Map();
    this.requestCount = 0;
  }

  start() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/events/`);
    this.socket = socket;
    socket.addEventListener('message', (message) => this.receive(JSON.parse(message.data)));
    socket.addEventListener('close', (event) => this.closed(event));
  }

  get isOpen() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  receive(event) {
    if (event.type === 'realtime.connected') {
      this.attempt = 0;
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send({ type: 'ping' }), event.heartbeat_seconds * 1000);
      this.connectionId = event.connection_id;
      this.onConnected();
    } else if (event.type === 'accounts.signed_out') {
      this.stopped = true;
      this.onSignedOut();
    } else if (event.request_id && this.pending.has(event.request_id)) {
      this.settle(event);
    } else if (event.type !== 'pong') {
      this.onEvent(event);
    }
  }

  settle(reply) {
    const { resolve, reject, timer } = this.pending.get(reply.request_id);
    this.pending.delete(reply.request_id);
    clearTimeout(timer);
    if (reply.type === 'call.error') reject(new SignallingError(reply.code, reply.error));
    else resolve(reply);
  }

  send(message) {
    if (this.isOpen) this.socket.send(JSON.stringify(message));
  }

  // Sends `message` with a new request_id; resolves with the reply carrying the same id, or
  // rejects with a SignallingError (the server's call.error, no connection, or no reply in 10 s).
  request(message) {
    this.requestCount += 1;
    const requestId = `${Date.now().toString(36)}-${this.requestCount}`;
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new SignallingError('offline', 'TOC is not connected right now. Try again in a moment.'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new SignallingError('timeout', 'The phone system did not answer in time. Try again.'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, reject, timer });
      this.send({ ...message, request_id: requestId });
    });
  }

  closed(event) {
    clearInterval(this.heartbeat);
    // A reply can't arrive on a new socket: whoever waits learns now, and the app's refetch
    // after the reconnect says what became of the request.
    for (const [requestId, { reject, timer }] of this.pending) {
      clearTimeout(timer);
      this.pending.delete(requestId);
      reject(new SignallingError('offline', 'The connection to TOC dropped. Try again in a moment.'));
    }
    if (this.stopped) return;
    this.onDisconnected();
    // 4401 or a refused handshake before any connect: the session is gone; the API call
    // the app makes on reconnect sends the user to the sign-in page.
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    setTimeout(() => this.start(), event.code === 4401 ? 0 : delay);
  }
}
