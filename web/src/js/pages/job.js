// Job page: live training curves, robustness, filter statistics, weight and
// MAC counts, config and the audit trail. Cancel/retry for admins.
import {api, live} from '../api.js';
import {barChart, chartBox, heatMap, lineChart, PALETTE, refresh} from '../charts.js';
import {accounting, adversarial, cleanAccuracy, corruptions, curveGroups, defaultAccuracy, filterStats} from '../figures.js';
import {el, errorBox, fmtCount, fmtNum, fmtTime, stateBadge, put} from '../util.js';

export async function renderJob(ctx, id) {
  const [job, events] = await Promise.all([api.get(`/jobs/${id}`), api.get(`/jobs/${id}/events`)]);
  if (!ctx.isCurrent()) return null;
  const head = el('section.card#job-head');
  const curves = el('section.card#curves', el('h2', {text: 'Training curves'}));
  const robust = el('section.card#robustness');
  const filters = el('section.card#filters');
  const weights = el('section.card#weights');
  const config = el('section.card#config');
  const audit = el('section.card#events');
  put(ctx.app, head, curves, robust, filters, weights,
    el('div.two', config, audit));
  drawHead(head, job, ctx);
  const curveState = await drawCurves(curves, job, ctx);
  drawResultSections(job.result, {robust, filters, weights});
  put(config, el('h2', {text: 'Config'}), el('pre.config', {text: JSON.stringify(job.config, null, 2)}));
  drawEvents(audit, events.events);

  // ---- Live ----
  const jobId = Number(id);
  let reloadTimer = null;
  const reloadSoon = (full) => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(async () => {
      try {
        const [j, ev] = await Promise.all([api.get(`/jobs/${id}`), api.get(`/jobs/${id}/events`)]);
        if (!ctx.isCurrent()) return;
        drawHead(head, j, ctx);
        drawEvents(audit, ev.events);
        if (full) {
          drawResultSections(j.result, {robust, filters, weights});
          await curveState.reload(j);
        }
      } catch (e) { console.warn('job refresh failed', e); }
    }, 300);
  };
  const offJob = live.on('job', (ev) => {
    if (ev.id !== jobId) return;
    reloadSoon(ev.state === 'succeeded' || ev.state === 'queued');
  });
  const offMetrics = live.on('metrics', (ev) => {
    if (ev.id !== jobId) return;
    if (ev.truncated || !curveState.append(ev.points)) curveState.reload(null);
  });
  return () => { offJob(); offMetrics(); clearTimeout(reloadTimer); };
}

function drawHead(head, job, ctx) {
  const p = job.progress || {};
  const actions = [];
  if (ctx.session.canMutate && (job.state === 'queued' || job.state === 'running')) {
    actions.push(el('button.danger#cancel-job', {type: 'button', text: 'Cancel job', onclick: async (ev) => {
      ev.target.disabled = true;
      try { await api.post(`/jobs/${job.id}/cancel`); } catch (e) { head.append(errorBox(e)); }
    }}));
  }
  if (ctx.session.canMutate && ['failed', 'cancelled', 'stopped'].includes(job.state)) {
    actions.push(el('button#retry-job', {type: 'button', text: 'Retry job', onclick: async (ev) => {
      ev.target.disabled = true;
      try { await api.post(`/jobs/${job.id}/retry`); } catch (e) { head.append(errorBox(e)); }
    }}));
  }
  const s = job.summary || {};
  put(head, 
    el('h1', `Job ${job.id} `, stateBadge(job.state), el('span.muted', {text: ` ${s.variant || ''}`})),
    el('p.meta',
      'sweeps ', job.sweep_ids.map((sid, i) => [i ? ', ' : '', el('a', {href: `#/sweep/${sid}`, text: `#${sid}`})]),
      ` · ${s['data.name'] || ''} · ResNet-${s['model.depth']}-${s['model.width']} k=${s['model.kernel_size']}`,
      s['model.conv.mode'] === 'lc' ? ` · E=${s['model.conv.lc_rate']} ${s['model.conv.spatial']}, init ${s['model.conv.init']}, sharing ${s['model.conv.sharing']}` : '',
      ` · seed ${s.seed}`),
    el('p.meta', `attempt ${job.attempt}/${job.max_attempts} · worker ${job.worker_id || '–'} · epoch ${job.epochs_done ?? p.epoch ?? 0}${job.epochs ? '/' + job.epochs : ''}, step ${p.step ?? 0}`,
      defaultAccuracy(job.result) !== undefined ? ` · test accuracy ${(100 * defaultAccuracy(job.result)).toFixed(2)}%` : '',
      ` · created ${fmtTime(job.created_ms)}`, job.finished_ms ? ` · finished ${fmtTime(job.finished_ms)}` : ''),
    job.error ? el('p.error', {text: job.error}) : null,
    modelLine(job),
    actions.length ? el('div.actions', actions) : null,
    el('p', el('a', {href: `#/compare?jobs=${job.id}`, text: 'compare with other jobs…'})));
}

// The final model (a PyTorch state dict, docs/python.md "Models"): a
// download link (the session cookie authorises it), or why there is none.
function modelLine(job) {
  const m = job.model;
  if (!m) return job.state === 'succeeded' ? el('p.muted', {text: 'No model stored for this job.'}) : null;
  if (m.pruned) return el('p.muted', {text: 'Model deleted by the retention policy (--keep-models).'});
  return el('p.meta#model',
    el('a#model-download', {href: m.url, download: `job-${job.id}-model.pt`, text: 'Download model'}),
    ` · ${fmtCount(m.size_bytes)} bytes · sha256 ${m.sha256.slice(0, 12)}… · attempt ${m.attempt}`);
}

// Curves: one chart per group (loss, accuracy, lr, images/s, other).
// Returns {append(points) -> bool, reload(job)}.
async function drawCurves(box, job, ctx) {
  const state = {charts: new Map(), names: [], maxStep: -Infinity};
  const body = el('div.chart-grid');
  put(box, el('h2', {text: 'Training curves'}), body);

  async function load(j) {
    const names = j ? j.metric_names : state.names;
    if (!names.length) {
      put(body, el('p.muted', {text: 'No metrics reported yet.'}));
      state.names = [];
      return;
    }
    const data = await api.get(`/jobs/${job.id}/metrics`, {names: names.join(','), max_points: 1000});
    if (!ctx.isCurrent()) return;
    for (const c of state.charts.values()) c.chart.destroy();
    state.charts.clear();
    put(body);
    state.names = names;
    const byName = new Map(data.series.map((s) => [s.name, s]));
    for (const g of curveGroups(names, (j || job).metric_units || {})) {
      const total = g.names.reduce((n, nm) => n + (byName.get(nm)?.total || 0), 0);
      const shown = g.names.reduce((n, nm) => n + (byName.get(nm)?.returned || 0), 0);
      const {box: fig, canvas} = chartBox(`curve-${g.key}`, `${g.title}` +
        (shown < total ? ` (${fmtCount(shown)} of ${fmtCount(total)} points, down-sampled on the server)` : ''));
      body.append(fig);
      const series = g.names.map((nm) => ({label: nm,
        points: (byName.get(nm)?.points || []).map((p) => [p[0], p[1]])}));
      const chart = lineChart(canvas, series, {xTitle: 'step', yTitle: g.title, logY: g.key === 'lr' && false});
      state.charts.set(g.key, {chart, names: g.names});
    }
  }
  await load(job);

  return {
    // Appends live points [name, step, value, ...]; false if a name is new (needs reload).
    append(points) {
      const touched = new Set();
      for (const [name, step, value] of points) {
        const entry = [...state.charts.values()].find((c) => c.names.includes(name));
        if (!entry) { state.names = [...new Set([...state.names, name])]; return false; }
        const ds = entry.chart.data.datasets[entry.names.indexOf(name)];
        ds.data.push({x: step, y: value});
        if (ds.data.length > 60) ds.pointRadius = 0;
        touched.add(entry.chart);
      }
      for (const c of touched) refresh(c);
      return true;
    },
    reload: (j) => load(j).catch((e) => console.warn('curves reload failed', e)),
  };
}

function drawResultSections(result, {robust, filters, weights}) {
  if (!result || typeof result !== 'object') {
    const msg = el('p.muted', {text: 'Evaluation figures appear when the job has succeeded.'});
    put(robust, el('h2', {text: 'Robustness'}), msg.cloneNode(true));
    put(filters, el('h2', {text: 'Filter statistics'}), msg.cloneNode(true));
    put(weights, el('h2', {text: 'Weights and MACs'}), msg);
    return;
  }
  // Robustness: accuracy against epsilon, and corruption x severity.
  put(robust, el('h2', {text: 'Robustness'}));
  const grid = el('div.chart-grid');
  robust.append(grid);
  const clean = cleanAccuracy(result);
  const attacks = ['fgsm', 'pgd'].map((a) => ({a, pts: adversarial(result, a)})).filter((x) => x.pts.length);
  if (attacks.length) {
    const {box, canvas} = chartBox('adversarial', `accuracy against ε (L∞, [0,1] pixels)` +
      (clean !== undefined ? `; clean ${(100 * clean).toFixed(2)}% on the evaluation's test subset` : ''));
    grid.append(box);
    // ε = 0 is the clean accuracy: every attack curve starts there.
    lineChart(canvas, attacks.map(({a, pts}) => ({label: a.toUpperCase(),
      points: [...(clean !== undefined ? [[0, clean]] : []), ...pts.map((p) => [p.eps * 255, p.acc])]})),
    {xTitle: 'ε × 255', yTitle: 'robust accuracy'});
  }
  const corr = corruptions(result);
  if (corr.cells.length) {
    const {box, canvas} = chartBox('corruptions', `corruption accuracy by severity` +
      (corr.mean !== undefined ? ` (mean ${(100 * corr.mean).toFixed(2)}%)` : ''), {height: 300});
    box.classList.add('wide');
    grid.append(box);
    heatMap(canvas, corr.names, corr.severities, corr.cells, {xTitle: 'corruption', yTitle: 'severity'});
  }
  if (!attacks.length && !corr.cells.length) grid.append(el('p.muted', {text: 'No robustness figures in the result.'}));

  // Filter statistics per layer: one chart per statistic, one bar group per tensor (S, P, W).
  put(filters, el('h2', {text: 'Filter statistics per layer'}));
  const fs = filterStats(result);
  if (fs.length) {
    const layers = [...new Set(fs.map((f) => f.layer))];
    const parts = [...new Set(fs.map((f) => f.part))];
    const stats = [...new Set(fs.flatMap((f) => Object.keys(f.stats)))];
    const fgrid = el('div.chart-grid');
    filters.append(fgrid);
    for (const st of stats) {
      // One colour per tensor (S, P, folded) across all the statistics' charts.
      const groups = parts.map((p, pi) => ({label: p, color: PALETTE[pi % PALETTE.length], values: layers.map((l) =>
        fs.find((f) => f.layer === l && f.part === p)?.stats[st] ?? null)}))
        .filter((g) => g.values.some((v) => v !== null));
      const {box, canvas} = chartBox(`filter-${st}`, st);
      fgrid.append(box);
      barChart(canvas, layers, groups, {yTitle: st});
    }
  } else {
    filters.append(el('p.muted', {text: 'No filter statistics in the result.'}));
  }

  // Weight and MAC counts.
  const acc = accounting(result);
  put(weights, el('h2', {text: 'Weights and MACs'}), acc.length
    ? el('table.grid.kv#accounting', el('tbody', acc.map(([k, v]) => el('tr', el('th', {text: k}),
      el('td.num', {text: fmtNum(v)}), el('td.num.muted', {text: fmtCount(v)})))))
    : el('p.muted', {text: 'No accounting in the result.'}));
}

function drawEvents(box, events) {
  put(box, el('h2', {text: `Events (${events.length})`}), el('table.grid#event-table',
    el('thead', el('tr', ['time', 'attempt', 'from', 'to', 'reason', 'worker'].map((h) => el('th', {text: h})))),
    el('tbody', events.slice().reverse().map((e) => el('tr',
      el('td', {text: fmtTime(e.time_ms)}), el('td.num', {text: e.attempt}), el('td', {text: e.from || '–'}),
      el('td', stateBadge(e.to)), el('td', {text: e.reason}), el('td', {text: e.worker_id || ''}))))));
}
