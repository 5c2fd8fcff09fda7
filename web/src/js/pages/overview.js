// Overview: every sweep with its progress, and every worker.
import {api, live} from '../api.js';
import {el, fmtAgo, fmtNum, fmtTime, progressBar, STATES, put} from '../util.js';

export async function renderOverview(ctx) {
  const [sweeps, workers] = await Promise.all([api.get('/sweeps'), api.get('/workers')]);
  if (!ctx.isCurrent()) return null;
  const sweepBox = el('section.card#sweeps');
  const workerBox = el('section.card#workers');
  put(ctx.app, el('h1', {text: 'Overview'}), sweepBox, workerBox);
  drawSweeps(sweepBox, sweeps.sweeps);
  drawWorkers(workerBox, workers);

  // Live: re-read the (small, aggregated) lists at most twice a second.
  let pending = null;
  const reload = () => {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      try {
        const [s, w] = await Promise.all([api.get('/sweeps'), api.get('/workers')]);
        if (!ctx.isCurrent()) return;
        drawSweeps(sweepBox, s.sweeps);
        drawWorkers(workerBox, w);
      } catch (e) { console.warn('overview refresh failed', e); }
    }, 500);
  };
  const offs = [live.on('job', reload), live.on('worker', reload), live.on('sweep', reload),
    live.on('metrics', reload)];
  const timer = setInterval(reload, 10000);  // "last heartbeat … ago" ages
  return () => { offs.forEach((f) => f()); clearInterval(timer); clearTimeout(pending); };
}

function drawSweeps(box, sweeps) {
  const rows = sweeps.slice().reverse().map((s) => {
    const c = s.counts;
    const done = c.succeeded + c.failed + c.cancelled;
    return el('tr', {'data-sweep': s.id},
      el('td', el('a', {href: `#/sweep/${s.id}`, text: s.name || `sweep ${s.id}`})),
      el('td.num', {text: s.id}),
      el('td.wide', progressBar(c)),
      el('td.num', {text: `${done} / ${c.total}`}),
      el('td.counts', STATES.filter((st) => c[st]).map((st) =>
        el(`span.count.state-${st}`, {text: `${c[st]} ${st}`}))),
      el('td', {text: s.priority}),
      el('td', {text: fmtTime(s.created_ms)}));
  });
  put(box, 
    el('h2', {text: `Sweeps (${sweeps.length})`}),
    sweeps.length ? el('table.grid',
      el('thead', el('tr', ['name', 'id', 'progress', 'done', 'states', 'priority', 'created']
        .map((h) => el('th', {text: h})))),
      el('tbody', rows)) : el('p.muted', {text: 'No sweeps yet: submit one with `lcsweep submit SPEC.json`.'}));
}

function drawWorkers(box, data) {
  const now = data.now_ms || Date.now();
  const rows = data.workers.map((w) => el('tr', {'data-worker': w.id, class: w.alive ? '' : 'dead'},
    el('td', {text: w.name}),
    el('td', {text: w.host}),
    el('td', w.devices.map((d) => el('div', {text: d.kind === 'cuda'
      ? `${d.name} (${fmtNum(d.memory_gb, 3)} GB)` : `${d.name || 'cpu'}`}))),
    el('td', w.jobs.length ? w.jobs.map((j) => el('div',
      el('a', {href: `#/job/${j.id}`, text: `job ${j.id}`}), ` epoch ${j.epoch}, step ${j.step}`))
      : el('span.muted', {text: 'idle'})),
    el('td.num', {text: w.images_per_s ? `${fmtNum(w.images_per_s, 4)} img/s` : '–'}),
    el('td', {title: fmtTime(w.last_seen_ms)}, el(`span.badge.${w.alive ? 'alive' : 'dead'}`,
      {text: w.alive ? 'alive' : 'lost'}), ' ', fmtAgo(w.last_seen_ms, now))));
  put(box, 
    el('h2', {text: `Workers (${data.workers.filter((w) => w.alive).length} alive)`}),
    data.workers.length ? el('table.grid',
      el('thead', el('tr', ['name', 'host', 'devices', 'current job', 'throughput', 'last heartbeat']
        .map((h) => el('th', {text: h})))),
      el('tbody', rows)) : el('p.muted', {text: 'No workers have registered.'}));
}
