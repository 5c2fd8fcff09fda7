// The JSON API client (server/http) and the live-update stream.
// Reads need no token; mutations send the admin token kept in localStorage.

const TOKEN_KEY = 'lcsweep.token';

export function getToken() { return localStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t) {
  if (t) localStorage.setItem(TOKEN_KEY, t); else localStorage.removeItem(TOKEN_KEY);
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
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(url, {method, headers});
  } catch (e) {
    throw new ApiError(0, 'The coordinator is not reachable', 'Is lcsweep-coordinator running? ' + e.message);
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
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
