// The sweep page's cost section: what each arm used (attempts, abandoned
// ones, CPU/GPU hours, energy) next to its test accuracy, and two plots:
// accuracy against compute hours and against learned parameters, one point
// (mean ± std error over seeds) per arm. The numbers are the coordinator's
// accounting (GET /api/v1/sweeps/{id}/cost, the same as `lcsweep cost`).
import {api} from '../api.js';
import {chartBox, errorBarChart} from '../charts.js';
import {axisLabel, el, errorBox, fmtNum, put} from '../util.js';

function armLabel(axes) {
  const parts = Object.entries(axes).map(([k, v]) => `${axisLabel(k)}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(', ') : 'all jobs';
}

const hours = (s) => (s / 3600).toFixed(3);

export function costSection(ctx, id) {
  const section = el('section.card#cost');
  const table = el('div#cost-table');
  const note = el('p.note');
  const {box: computeBox, canvas: computeCanvas} = chartBox('cost-compute', 'accuracy against compute (mean ± std error over seeds)');
  const {box: paramsBox, canvas: paramsCanvas} = chartBox('cost-params', 'accuracy against learned parameters');
  put(section, el('h2', {text: 'Cost'}), table, el('div.chart-grid', computeBox, paramsBox), note);
  let charts = [];

  async function draw() {
    try {
      const d = await api.get(`/sweeps/${id}/cost`);
      if (!ctx.isCurrent()) return;
      const rows = [...d.arms.map((a) => ({label: armLabel(a.axes), jobs: a.jobs, t: a.totals, acc: a.accuracy})),
        {label: 'total', jobs: d.jobs, t: d.total, acc: null}];
      put(table, el('table.grid.cost', el('thead', el('tr', ['arm', 'jobs', 'attempts', 'abandoned', 'CPU h', 'GPU h',
        'abandoned h', 'energy kWh', 'test accuracy'].map((h) => el('th', {text: h})))),
      el('tbody', rows.map((r) => el('tr', {'data-arm': r.label},
        el('td', {text: r.label}), el('td.num', {text: String(r.jobs)}),
        el('td.num', {text: String(r.t.attempts)}), el('td.num', {text: String(r.t.abandoned)}),
        el('td.num', {text: hours(r.t.cpu_seconds)}), el('td.num', {text: hours(r.t.gpu_seconds)}),
        el('td.num', {text: hours(r.t.abandoned_cpu_seconds + r.t.abandoned_gpu_seconds)}),
        el('td.num', {text: r.t.energy_attempts ? fmtNum(r.t.energy_kwh, 3) : '-'}),
        el('td.num', {text: r.acc && r.acc.n ? `${(100 * r.acc.mean).toFixed(2)} ± ${(100 * r.acc.std).toFixed(2)} (${r.acc.n})` : '-'}))))));
      for (const c of charts) c.destroy();
      charts = [];
      const gpu = d.compute_axis === 'gpu_hours';
      const done = d.arms.filter((a) => a.accuracy.n > 0);
      const point = (a, x) => ({label: armLabel(a.axes), points: [{x, mean: a.accuracy.mean, stderr: a.accuracy.stderr, n: a.accuracy.n}]});
      // Compute per arm and per seed, so arms with different seed counts compare.
      charts.push(errorBarChart(computeCanvas,
        done.map((a) => point(a, (gpu ? a.totals.gpu_seconds : a.totals.cpu_seconds) / 3600 / Math.max(1, a.accuracy.n))),
        {xTitle: (gpu ? 'GPU' : 'CPU') + ' hours per seed', yTitle: 'test accuracy (%)', percent: true}));
      const withParams = done.filter((a) => a.learned_parameters);
      charts.push(errorBarChart(paramsCanvas, withParams.map((a) => point(a, a.learned_parameters)),
        {xTitle: 'learned parameters (log scale)', yTitle: 'test accuracy (%)', logX: true, percent: true}));
      note.textContent = d.total.unmeasured
        ? `${d.total.unmeasured} attempt(s) have no measurement (lost before their first heartbeat).` : '';
    } catch (e) { put(table, errorBox(e)); }
  }
  return {section, draw, destroy: () => { for (const c of charts) c.destroy(); charts = []; }};
}
