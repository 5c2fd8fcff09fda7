// Small DOM and formatting helpers shared by the pages.

// el('div.card#x', {onclick: f, 'data-k': 1}, child, 'text', ...)
export function el(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec) || [];
  const node = document.createElement(m[1] || 'div');
  for (const part of (m[2] || '').match(/[.#][\w-]+/g) || []) {
    if (part[0] === '.') node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  // A second argument that is not a plain attribute object is the first child (0 included).
  if (attrs !== undefined && (attrs === null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else if (k === 'html') node.innerHTML = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

// node.replaceChildren(...) that skips null/false/undefined children (the DOM
// would print them as text).
export function put(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

// 1234567 -> "1.23 M"
export function fmtCount(v) {
  if (v === null || v === undefined) return '–';
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [s, u] of units) if (Math.abs(v) >= s) return `${(v / s).toFixed(2)} ${u}`;
  return String(v);
}

export function fmtTime(ms) {
  if (!ms) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h ago`;
  return `${(s / 86400).toFixed(1)} d ago`;
}

export function stateBadge(state) {
  return el(`span.badge.state-${state}`, {text: state});
}

export function errorBox(err) {
  return el('div.error', {role: 'alert'},
    el('strong', {text: err.message || String(err)}),
    err.hint ? el('div.hint', {text: err.hint}) : null);
}

export const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'stopped'];

// Progress bar for {queued, running, succeeded, failed, cancelled, total}.
export function progressBar(counts) {
  const total = counts.total || 0;
  const bar = el('div.progress', {role: 'img',
    'aria-label': STATES.map((s) => `${counts[s] || 0} ${s}`).join(', ')});
  for (const s of STATES) {
    const n = counts[s] || 0;
    if (!n || !total) continue;
    bar.append(el(`span.seg.state-${s}`, {style: `width:${(100 * n / total).toFixed(3)}%`, title: `${n} ${s}`}));
  }
  return bar;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// Parses "#/sweep/s-1?tab=x" into {parts: ['sweep', 's-1'], query: URLSearchParams}.
export function parseHash(hash) {
  const h = (hash || '#/').replace(/^#\/?/, '');
  const [path, qs] = h.split('?');
  return {parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(qs || '')};
}

export function axisLabel(path) {
  const names = {
    'model.conv.lc_rate': 'LC rate E', 'model.conv.spatial': 'spatial', 'model.conv.init': 'init',
    'model.conv.sharing': 'sharing', 'model.conv.mode': 'conv', 'model.conv.intermediate': 'intermediate',
    'model.kernel_size': 'kernel', 'model.depth': 'depth', 'model.width': 'width', 'data.name': 'data set',
    'model.arch': 'arch', variant: 'variant', seed: 'seed',
  };
  return names[path] || path;
}
