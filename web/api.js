// The REST API client: JSON in and out (or a FormData body, for file uploads), CSRF for
// writes, one error type with field messages.

export class ApiError extends Error {
  constructor(status, detail, errors) {
    super(detail || `Request failed (${status})`);
    this.status = status;
    this.errors = errors || {};
  }

  // All messages, field ones first, as one sentence list for a form's error line.
  describe() {
    const messages = Object.values(this.errors).flat();
    return messages.length ? messages.join(' ') : this.message;
  }
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
    if (response.status === 401 || /credentials|authenticat/i.test(data.detail || '')) {
      window.location.assign('/login/');
    }
    throw new ApiError(response.status, data.detail, data.errors);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data && data.detail, data && data.errors);
  return data;
}
