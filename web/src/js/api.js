// The JSON API client (server/http) and the live-update stream.
// The browser is signed in by an HttpOnly session cookie (login.html), so no
// script here ever holds a bearer token. Every state-changing request echoes
// the session's CSRF token (from GET /api/v1/session) in X-CSRF-Token.

let csrfToken = '';
export function setCsrfToken(t) { csrfToken = t || ''; }

// The signed-in principal ({name, role, can_mutate, auth, csrf_token}), or
// null when not signed in (then the page goes to login.html).
export async function loadSession() {
  const res = await fetch('/api/v1/session', {headers: {Accept: 'application/json'}, credentials: 'same-origin'});
  if (res.status === 401) return null;
  const body = await res.json();
  if (!res.ok) throw new ApiError(res.status, body.error || `HTTP ${res.status}`, body.hint);
  setCsrfToken(body.csrf_token);
  return body;
}

export async function signOut() {
  await fetch('/api/v1/session', {method: 'DELETE', credentials: 'same-origin', headers: {'X-CSRF-Token': csrfToken}});
  setCsrfToken('');
}

export class ApiError extends Error {
  constructor(status, message, hint) { super(message); this.status = status; this.hint = hint; }
}

async function request(method, path, params) {
  let url = '/api/v1' + path;
  if (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += '?' + s;
  }
  const headers = {Accept: 'application/json'};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {method, headers, credentials: 'same-origin'});
  } catch (e) {
    throw new ApiError(0, 'The coordinator is not reachable', 'Is lcsweep-coordinator running? ' + e.message);
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (res.status === 401 && !path.startsWith('/session')) {
    location.assign('/login.html');  // signed out elsewhere, expired, or the token was rotated
  }
  if (!res.ok) {
    throw new ApiError(res.status, (body && body.error) || `HTTP ${res.status}`, body && body.hint);
  }
  return body;
}

export const api = {
  get: (path, params) => request('GET', path, params),
  post: (path, params) => request('POST', path, params),
};

// One EventSource for the whole page; pages subscribe to kinds ('job', 'metrics', 'worker').
class LiveStream {
  constructor() { this.handlers = new Map(); this.source = null; this.statusListeners = []; }

  connect() {
    if (this.source) return;
    // Same origin: the session cookie goes along, as with fetch.
    this.source = new EventSource('/api/v1/stream');
    this.source.onopen = () => this.setStatus('live');
    this.source.onerror = () => this.setStatus('reconnecting');
    for (const kind of ['job', 'metrics', 'worker', 'hello']) {
      this.source.addEventListener(kind, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        for (const h of this.handlers.get(kind) || []) h(data);
      });
    }
  }

  setStatus(s) { for (const l of this.statusListeners) l(s); }
  onStatus(l) { this.statusListeners.push(l); }

  // Returns an unsubscribe function.
  on(kind, handler) {
    if (!this.handlers.has(kind)) this.handlers.set(kind, new Set());
    this.handlers.get(kind).add(handler);
    return () => this.handlers.get(kind).delete(handler);
  }
}

export const live = new LiveStream();
