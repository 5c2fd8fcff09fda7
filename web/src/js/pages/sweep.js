// Sweep page: progress, the ablation plot, the paper-style pivot table and
// the job table (server-side filter, sort and pagination).
import {api, live} from '../api.js';
import {chartBox, destroyAll, errorBarChart} from '../charts.js';
import {costSection} from './sweep_cost.js';
import {axisLabel, debounce, el, errorBox, fmtNum, progressBar, STATES, stateBadge, put} from '../util.js';

export async function renderSweep(ctx, id) {
  const sweep = await api.get(`/sweeps/${id}`);
  if (!ctx.isCurrent()) return null;
  const axes = sweep.axes.map((a) => a.path);
  const numericAxes = sweep.axes.filter((a) => a.values.every((v) => typeof v === 'number')).map((a) => a.path);
  const state = {
    metric: sweep.default_metric,
    x: axes.includes('model.conv.lc_rate') ? 'model.conv.lc_rate' : (numericAxes.find((a) => a !== 'seed') || axes[0]),
    series: '',
    rows: '', cols: '', vs: '',
    table: {state: new Set(), filter: '', sort: 'id', order: 'asc', offset: 0, limit: 50, metric: ''},
    selected: new Set(),
  };
  state.table.metric = sweep.default_metric || '';

  const head = el('section.card#sweep-head');
  const ablation = el('section.card#ablation');
  const pivot = el('section.card#pivot');
  const jobs = el('section.card#jobs');
  const cost = costSection(ctx, id);
  put(ctx.app, head, ablation, pivot, cost.section, jobs);
  drawHead(head, sweep, ctx);

  // ---- Ablation plot ----
  const figureOptions = (sel) => sweep.figures.map((f) => el('option', {value: f, text: f, selected: f === sel}));
  const axisOptions = (sel, extra = []) => [...extra, ...axes.filter((a) => a !== 'seed')]
    .map((a) => el('option', {value: a, text: a ? axisLabel(a) : 'auto', selected: a === sel}));
  const ablMetric = el('select#abl-metric', {'aria-label': 'metric'}, figureOptions(state.metric));
  const ablX = el('select#abl-x', {'aria-label': 'x axis'}, axisOptions(state.x));
  const ablSeries = el('select#abl-series', {'aria-label': 'series'}, axisOptions('', ['']));
  const ablNote = el('p.note');
  const {box: ablBox, canvas: ablCanvas} = chartBox('ablation', 'mean ± std error over seeds', {height: 340});
  put(ablation, el('h2', {text: 'Ablation'}),
    el('div.controls', el('label', 'metric ', ablMetric), el('label', 'x ', ablX), el('label', 'lines ', ablSeries)),
    ablBox, ablNote);
  let ablChart = null;
  async function drawAblation() {
    if (!state.metric) { ablNote.textContent = 'No succeeded jobs with results yet.'; return; }
    try {
      const data = await api.get(`/sweeps/${id}/ablation`, {metric: state.metric, x: state.x, series: state.series});
      if (!ctx.isCurrent()) return;
      if (ablChart) { ablChart.destroy(); ablChart = null; }
      // A plain-conv baseline has no LC rate: draw it flat across the x range.
      const xs = data.series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => typeof x === 'number');
      const lo = Math.min(...xs), hi = Math.max(...xs);
      const series = data.series.map((s) => ({
        label: s.baseline ? `${s.label} (baseline)` : s.label,
        points: s.baseline && s.points.length === 1 && xs.length
          ? [{...s.points[0], x: lo}, {...s.points[0], x: hi}] : s.points,
      }));
      if (!data.numeric_x) {
        // Categorical x: place categories at 1..k and label them.
        const cats = [...new Set(data.series.flatMap((s) => s.points.map((p) => String(p.x))))];
        for (const s of series) s.points = s.points.map((p) => ({...p, x: cats.indexOf(String(p.x)) + 1}));
        ablChart = errorBarChart(ablCanvas, series, {xTitle: axisLabel(data.x), yTitle: data.metric,
          percent: data.percent});
        ablChart.options.scales.x.ticks = {stepSize: 1, callback: (v) => cats[v - 1] ?? ''};
        ablChart.update('none');
      } else {
        ablChart = errorBarChart(ablCanvas, series, {xTitle: axisLabel(data.x) + (data.log_x ? ' (log scale)' : ''),
          yTitle: data.metric + (data.percent ? ' (%)' : ''), logX: data.log_x, percent: data.percent});
      }
      ablCanvas.dataset.metric = data.metric;
      ablNote.textContent = data.pooled_axes.length
        ? `Pooled over ${data.pooled_axes.map(axisLabel).join(', ')} (pick them as lines to separate).` : '';
    } catch (e) { put(ablNote, errorBox(e)); }
  }
  ablMetric.addEventListener('change', () => { state.metric = ablMetric.value; drawAblation(); drawPivot(); });
  ablX.addEventListener('change', () => { state.x = ablX.value; drawAblation(); });
  ablSeries.addEventListener('change', () => { state.series = ablSeries.value; drawAblation(); });

  // ---- Pivot table ----
  const pivRows = el('select#piv-rows', {'aria-label': 'rows'}, axisOptions('', ['']));
  const pivCols = el('select#piv-cols', {'aria-label': 'columns'}, axisOptions('', ['']));
  const pivTable = el('div#pivot-table');
  // The reference cell of the significance columns ("" = none): the cell's
  // rows and columns axis values, as the API's vs parameter takes them.
  const pivRef = el('span#piv-ref');
  put(pivot, el('h2', {text: 'Results over seeds'}),
    el('div.controls', el('label', 'rows ', pivRows), el('label', 'columns ', pivCols), pivRef), pivTable);
  async function drawPivot() {
    if (!state.metric) return;
    try {
      const d = await api.get(`/sweeps/${id}/results`,
        {metric: state.metric, rows: state.rows, cols: state.cols, vs: state.vs || ''});
      if (!ctx.isCurrent()) return;
      put(pivTable, pivotTable(d, (ref) => { state.vs = ref; drawPivot(); }));
      put(pivRef, state.vs ? [`reference: ${state.vs} `,
        el('button#piv-ref-clear', {type: 'button', text: 'clear', onclick: () => { state.vs = ''; drawPivot(); }})]
        : 'click "vs" in a cell to compare every cell with it');
    } catch (e) { put(pivTable, errorBox(e)); }
  }
  pivRows.addEventListener('change', () => { state.rows = pivRows.value; state.vs = ''; drawPivot(); });
  pivCols.addEventListener('change', () => { state.cols = pivCols.value; state.vs = ''; drawPivot(); });

  // ---- Job table ----
  const t = state.table;
  const stateChips = el('span.chips', STATES.map((s) => el('label.chip', el('input', {type: 'checkbox',
    value: s, onchange: (ev) => {
      if (ev.target.checked) t.state.add(s); else t.state.delete(s);
      t.offset = 0; drawJobs();
    }}), s)));
  const filterInput = el('input#job-filter', {type: 'search', size: 36,
    placeholder: 'filter: lc_rate=8 spatial=frozen, or text', 'aria-label': 'filter jobs'});
  filterInput.addEventListener('input', debounce(() => { t.filter = filterInput.value.trim(); t.offset = 0; drawJobs(); }, 250));
  const metricSel = el('select#job-metric', {'aria-label': 'metric column'},
    [...new Set([...sweep.job_metrics.filter((m) => !m.includes('['))])].map((m) =>
      el('option', {value: m, text: m, selected: m === t.metric})));
  if (!metricSel.value && metricSel.options.length) t.metric = metricSel.value;
  metricSel.addEventListener('change', () => { t.metric = metricSel.value; drawJobs(); });
  const compareBtn = el('button#compare-selected', {type: 'button', disabled: true, text: 'Compare selected',
    onclick: () => { location.hash = `#/compare?jobs=${[...state.selected].join(',')}`; }});
  const tableBox = el('div#job-table');
  const pager = el('div.pager');
  put(jobs, el('h2', {text: 'Jobs'}),
    el('div.controls', stateChips, filterInput, el('label', 'metric ', metricSel), compareBtn), tableBox, pager);

  let lastJobs = null;
  let jobsRequest = 0;
  async function drawJobs() {
    // Answers can arrive out of order (two clicks on a header): draw only the latest.
    const mine = ++jobsRequest;
    try {
      const d = await api.get(`/sweeps/${id}/jobs`, {state: [...t.state].join(','), filter: t.filter,
        sort: t.sort, order: t.order, offset: t.offset, limit: t.limit, metric: t.metric});
      if (!ctx.isCurrent() || mine !== jobsRequest) return;
      lastJobs = d;
      put(tableBox, jobTable(d));
      put(pager, 
        el('button', {type: 'button', text: '‹ prev', disabled: t.offset === 0,
          onclick: () => { t.offset = Math.max(0, t.offset - t.limit); drawJobs(); }}),
        el('span#page-info', {text: d.total ? `${d.offset + 1}–${Math.min(d.offset + d.limit, d.total)} of ${d.total}`
          + (d.total !== d.sweep_total ? ` (filtered from ${d.sweep_total})` : '') : 'no jobs match'}),
        el('button', {type: 'button', text: 'next ›', disabled: d.offset + d.limit >= d.total,
          onclick: () => { t.offset += t.limit; drawJobs(); }}));
    } catch (e) { put(tableBox, errorBox(e)); }
  }

  function jobTable(d) {
    const cols = [['id', 'id'], ['state', 'state'], ['variant', 'variant'],
      ...d.columns.map((c) => [c, axisLabel(c)]), ['metric', t.metric || 'metric'], ['epoch', 'epoch'],
      ['attempt', 'attempt'], ['worker', 'worker']];
    const th = cols.map(([key, label]) => el('th', {'data-sort': key, class: 'sortable' +
      (t.sort === key ? ` sorted-${t.order}` : ''), title: 'sort', onclick: () => {
      if (t.sort === key) t.order = t.order === 'asc' ? 'desc' : 'asc';
      else { t.sort = key; t.order = 'asc'; }
      drawJobs();
    }}, label));
    const rows = d.jobs.map((j) => el('tr', {'data-job': j.id},
      el('td', el('input', {type: 'checkbox', 'aria-label': `select job ${j.id}`, checked: state.selected.has(j.id),
        onchange: (ev) => {
          if (ev.target.checked) state.selected.add(j.id); else state.selected.delete(j.id);
          compareBtn.disabled = state.selected.size < 2;
        }})),
      el('td', el('a', {href: `#/job/${j.id}`, text: j.id})),
      el('td.state-cell', stateBadge(j.state)),
      el('td', {text: j.variant}),
      d.columns.map((c) => el('td', {text: fmtNum(j.axes[c])})),
      el('td.num', {text: fmtNum(j.metric)}),
      el('td.num.epoch', {text: j.epochs ? `${j.epoch}/${j.epochs}` : String(j.epoch)}),
      el('td.num', {text: `${j.attempt}/${j.max_attempts}`}),
      el('td', {text: j.worker_id || ''})));
    return el('table.grid.jobs', el('thead', el('tr', el('th', ''), th)), el('tbody', rows));
  }

  await Promise.all([drawAblation(), drawPivot(), drawJobs(), cost.draw()]);

  // ---- Live updates ----
  const sweepId = Number(id);
  // Throttled, not debounced: a busy sweep sends job events continuously.
  let refreshTimer = null;
  const refreshAll = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; doRefresh(); }, 700);
  };
  const doRefresh = async () => {
    try {
      const s = await api.get(`/sweeps/${id}`);
      if (!ctx.isCurrent()) return;
      drawHead(head, s, ctx);
      await drawJobs();
      cost.draw();  // every attempt's end moves the cost, not only successes
      if (s.counts.succeeded !== sweep.counts.succeeded) {
        sweep.counts = s.counts;
        drawAblation();
        drawPivot();
      }
    } catch (e) { console.warn('sweep refresh failed', e); }
  };
  const off = live.on('job', (ev) => {
    if (!ev.sweep_ids.includes(sweepId)) return;
    const cell = tableBox.querySelector(`tr[data-job="${ev.id}"] .state-cell`);
    if (cell) put(cell, stateBadge(ev.state));
    refreshAll();
  });
  return () => { off(); clearTimeout(refreshTimer); if (ablChart) ablChart.destroy(); cost.destroy(); };
}

function drawHead(head, sweep, ctx) {
  const c = sweep.counts;
  put(head, 
    el('h1', {text: sweep.name || `sweep ${sweep.id}`}, el('span.muted', {text: ` #${sweep.id}`})),
    sweep.description ? el('p', {text: sweep.description}) : null,
    progressBar(c),
    el('p.counts', STATES.map((s) => el(`span.count.state-${s}`, {text: `${c[s]} ${s}`})), ` of ${c.total} jobs`,
      sweep.cancelled_ms ? el('strong', {text: ' · cancelled'}) : null),
    ctx.session.canMutate && (c.queued + c.running) > 0 ? el('button.danger#cancel-sweep', {type: 'button',
      text: 'Cancel sweep', onclick: async (ev) => {
        if (!confirm(`Cancel every queued and running job of sweep ${sweep.id}?`)) return;
        ev.target.disabled = true;
        try { await api.post(`/sweeps/${sweep.id}/cancel`); } catch (e) { head.append(errorBox(e)); }
      }}) : null,
    el('details', el('summary', {text: 'sweep spec'}), el('pre', {text: JSON.stringify(sweep.spec, null, 2)})));
}

// An axis value as the API's cell references spell it (analysis::AxisValueText).
function valueText(v) { return typeof v === 'string' ? v : v === null ? '' : JSON.stringify(v); }

function pivotTable(d, onPickReference) {
  const k = d.percent ? 100 : 1;
  const fmt = (v) => (d.percent ? (v * k).toFixed(2) : fmtNum(v));
  const header = el('tr', el('th', {text: `${axisLabel(d.rows_axis)} \\ ${axisLabel(d.cols_axis)}`}),
    d.cols.map((c) => el('th', {text: String(c)})));
  const body = d.rows.map((r, i) => el('tr', el('th', {text: String(r)}), d.cells[i].map((cell, j) => {
    if (!cell) return el('td.empty', {text: '–'});
    const ours = `${fmt(cell.mean)} ± ${fmt(cell.std)}`;
    const parts = [el('span.ours', {text: ours}), el('span.n', {text: ` (n=${cell.n})`})];
    const ref = `${d.rows_axis}=${valueText(r)},${d.cols_axis}=${valueText(d.cols[j])}`;
    if (cell.reference) {
      parts.push(el('div.vs.reference', {text: 'reference'}));
    } else if (cell.vs_ref) {
      // Difference to the reference (display units), two-sided p, * for p < 0.05.
      const c = cell.vs_ref;
      const diff = c.diff * k;
      const p = c.p === null ? '–' : c.p < 0.001 ? '<0.001' : c.p.toFixed(3);
      parts.push(el('div.vs', {title: `${c.test} t-test; 95% CI ${c.ci ? c.ci.map((x) => fmt(x)).join(' to ') : '–'}` +
          (c.seeds_needed !== null ? `; seeds needed for p < 0.05 at power 0.8: ${c.seeds_needed}` : '')},
        `Δ ${diff >= 0 ? '+' : ''}${d.percent ? diff.toFixed(2) : fmtNum(diff)} p=${p}${c.significant ? '*' : ''}` +
        (c.few_seeds ? ' (n<3)' : '')));
    }
    if (!cell.reference) {
      parts.push(el('button.vs-pick', {type: 'button', text: 'vs', title: 'compare every cell with this one',
        onclick: () => onPickReference(ref)}));
    }
    if (cell.published) {
      // Published numbers are fractions like the figure; std null = not published.
      const pub = cell.published;
      const delta = (cell.mean - pub.mean) * 100;
      const title = pub.source + (pub.recipe_differences.length ? `; recipe differs: ${pub.recipe_differences.join(', ')}` : '');
      parts.push(el('div.published', {title},
        `paper ${(pub.mean * 100).toFixed(2)}${pub.std !== null ? ' ± ' + (pub.std * 100).toFixed(2) : ''}`,
        d.percent ? el(`span.delta.${delta >= 0 ? 'up' : 'down'}`, {text: ` (${delta >= 0 ? '+' : ''}${delta.toFixed(2)})`}) : null));
    }
    return el('td', {'data-published': cell.published ? 'yes' : null}, parts);
  })));
  return el('div',
    el('p.note', {text: `${d.metric}${d.percent ? ' in %' : ''}: mean ± std over seeds (n seeds).` +
      (d.vs ? ` Δ and p against ${d.vs}: paired t-test by seed when both ran the same seeds, else Welch; * p < 0.05.` : '') +
      (d.published_cells ? ' "paper" = the published number (Gavrikov & Keuper v2, full test set) where the config matches.' : '')
      + (d.published_note && d.metric !== d.published_figure ? ` No published numbers: ${d.published_note}.` : '')}),
    el('table.grid.pivot', el('thead', header), el('tbody', body)));
}

export {destroyAll};
