// The dashboard: a single page app with hash routes
//   #/                 overview (sweeps, workers)
//   #/sweep/ID         sweep (job table, ablation plot, pivot table)
//   #/job/ID           job (curves, robustness, filters, accounting, config, events)
//   #/compare?jobs=1,2 compare (curves and figures side by side)
import {api, live, loadSession, signOut} from './api.js';
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

// Returns false (and leaves for the sign-in page) when not signed in.
async function refreshRole() {
  const roleEl = document.getElementById('role');
  const who = await loadSession();
  if (!who) {
    location.assign('/login.html');
    return false;
  }
  session.role = who.role;
  session.canMutate = who.can_mutate;
  roleEl.textContent = who.auth ? `${who.name || who.role} (${who.role})` : 'read-only (no tokens file)';
  roleEl.className = 'role ' + (session.canMutate ? 'role-admin' : '');
  document.body.classList.toggle('can-mutate', session.canMutate);
  const out = document.getElementById('sign-out');
  out.hidden = !who.session;
  return true;
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

function setupSignOut() {
  document.getElementById('sign-out').addEventListener('click', async () => {
    await signOut();
    location.assign('/login.html');
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
  setupSignOut();
  if (!(await refreshRole())) return;
  setupLive();
  route();
});
