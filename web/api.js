// The REST API client: JSON in and out (or a FormData body, for file uploads), CSRF for
// writes, one error type with field messages.

export class ApiError extends Error {
  // `signedOut`: the session has expired (401, or a 403 for missing credentials); the page is
  // on its way to the sign-in page.
  constructor(status, detail, errors, { signedOut = false } = {}) {
    super(detail || `Request failed (${status})`);
    this.status = status;
    this.errors = errors || {};
    this.signedOut = signedOut;
  }

  // All messages, field ones first, as one sentence list for a form's error line.
  describe() {
    const messages = Object.values(this.errors).flat();
    return messages.length ? messages.join(' ') : this.message;
  }
}

// `session.expired` is set once a request found the session expired and the page went to sign
// in again (what is unsent waits in sessionStorage: no "Leave site?" for that).
export const session = { expired: false };

// A 401, or a 403 whose reason is missing or bad credentials (not a permission refusal).
export function isSignedOut(status, detail) {
  return status === 401 || (status === 403 && /credentials|authenticat/i.test(detail || ''));
}

export function signInAgain() {
  session.expired = true;
  window.location.assign('/login/');
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const options = { method, headers, credentials: 'same-origin' };
  if (body instanceof FormData) {
    options.body = body; // the browser sets the multipart Content-Type with its boundary
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken();
  const response = await fetch(`/api/${path}`, options);
  if (response.status === 401 || response.status === 403) {
    const data = await response.json().catch(() => ({}));
    const signedOut = isSignedOut(response.status, data.detail);
    if (signedOut) signInAgain();
    throw new ApiError(response.status, data.detail, data.errors, { signedOut });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && data.detail, data && data.errors);
  return data;
}
