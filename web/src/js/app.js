// The dashboard: a single page app with hash routes
//   #/                 overview (sweeps, workers)
//   #/sweep/ID         sweep (job table, ablation plot, pivot table)
//   #/job/ID           job (curves, robustness, filters, accounting, config, events)
//   #/compare?jobs=1,2 compare (curves and figures side by side)
import {api, getToken, live, setToken} from './api.js';
import {destroyAll} from './charts.js';
import {getSchema, setSchema} from './figures.js';
import {el, errorBox, parseHash, put} from './util.js';
import {renderOverview} from './pages/overview.js';
import {renderSweep} from './pages/sweep.js';
import {renderJob} from './pages/job.js';
import {renderCompare} from './pages/compare.js';

export const session = {role: 'anonymous', canMutate: false};

// Each page returns an optional cleanup function (unsubscribe from live events, timers).
let cleanup = null;
let generation = 0;

async function refreshRole() {
  const roleEl = document.getElementById('role');
  session.role = 'anonymous';
  session.canMutate = false;
  if (getToken()) {
    try {
      const who = await api.get('/whoami');
      session.role = who.role;
      session.canMutate = who.can_mutate;
    } catch (e) {
      session.role = 'invalid token';
    }
  }
  roleEl.textContent = session.role === 'anonymous' ? 'read-only' : session.role;
  roleEl.className = 'role ' + (session.canMutate ? 'role-admin' : '');
  document.body.classList.toggle('can-mutate', session.canMutate);
}

async function route() {
  const gen = ++generation;
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } cleanup = null; }
  destroyAll();
  const app = document.getElementById('app');
  put(app, el('p.loading', {text: 'Loading…'}));
  const {parts, query} = parseHash(location.hash);
  const page = parts[0] || 'overview';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page);
  const ctx = {app, query, session, isCurrent: () => gen === generation};
  try {
    // The result schema, once: the pages read result documents by it.
    if (!getSchema()) setSchema(await api.get('/schema'));
    let result;
    if (page === 'overview') result = await renderOverview(ctx);
    else if (page === 'sweep' && parts[1]) result = await renderSweep(ctx, parts[1]);
    else if (page === 'job' && parts[1]) result = await renderJob(ctx, parts[1]);
    else if (page === 'compare') result = await renderCompare(ctx);
    else throw Object.assign(new Error(`No page '${location.hash}'`), {hint: 'Go back to the overview.'});
    if (gen === generation) cleanup = result || null;
    else if (result) result();
    document.body.dataset.page = page;
    document.body.dataset.ready = String(gen);
  } catch (e) {
    if (gen !== generation) return;
    console.warn(e);
    put(app, errorBox(e));
    document.body.dataset.page = page;
    document.body.dataset.ready = String(gen);
  }
}

function setupToken() {
  const dialog = document.getElementById('token-dialog');
  const input = document.getElementById('token-input');
  document.getElementById('token-button').addEventListener('click', () => {
    input.value = getToken();
    dialog.showModal();
  });
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue === 'save') setToken(input.value.trim());
    if (dialog.returnValue === 'clear') setToken('');
    await refreshRole();
    route();
  });
}

function setupLive() {
  const badge = document.getElementById('live');
  live.onStatus((s) => { badge.textContent = s; badge.className = 'live live-' + s; });
  live.on('hello', (h) => { if (h.resync) route(); });
  live.connect();
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
  setupToken();
  setupLive();
  await refreshRole();
  route();
});
