// Compare: two or more jobs' curves and figures side by side
// (#/compare?jobs=3,7,12). Curves of the same kind share a chart, one line per job.
import {api} from '../api.js';
import {barChart, chartBox, lineChart} from '../charts.js';
import {accounting, adversarial, cleanAccuracy, corruptions, curveGroups, defaultAccuracy} from '../figures.js';
import {el, errorBox, fmtNum, stateBadge, put} from '../util.js';

export async function renderCompare(ctx) {
  const ids = (ctx.query.get('jobs') || '').split(',').map((s) => s.trim()).filter(Boolean);
  const input = el('input#compare-ids', {type: 'text', size: 30, value: ids.join(','),
    placeholder: 'job ids, e.g. 3,7,12', 'aria-label': 'job ids'});
  const form = el('form.controls', {onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = `#/compare?jobs=${input.value.replace(/\s+/g, '')}`;
  }}, el('label', 'jobs ', input), el('button', {type: 'submit', text: 'Compare'}));
  put(ctx.app, el('h1', {text: 'Compare jobs'}), form);
  if (ids.length === 0) {
    ctx.app.append(el('p.muted', {text: 'Pick jobs in a sweep\'s job table, or type their ids.'}));
    return null;
  }
  const jobs = await Promise.all(ids.map((id) => api.get(`/jobs/${id}`).catch((e) => ({id, failed: e}))));
  if (!ctx.isCurrent()) return null;
  for (const j of jobs.filter((x) => x.failed)) ctx.app.append(errorBox(j.failed));
  const ok = jobs.filter((j) => !j.failed);
  const label = (j) => `job ${j.id} (${j.summary.variant}${j.summary['model.conv.mode'] === 'lc'
    ? ' E=' + j.summary['model.conv.lc_rate'] : ''}, seed ${j.summary.seed})`;

  // Side-by-side summary table.
  const rows = [
    ['state', (j) => stateBadge(j.state)],
    ['data set', (j) => j.summary['data.name']],
    ['variant', (j) => j.summary.variant],
    ['LC rate', (j) => j.summary['model.conv.lc_rate']],
    ['init', (j) => j.summary['model.conv.init']],
    ['sharing', (j) => j.summary['model.conv.sharing']],
    ['seed', (j) => j.summary.seed],
    ['test accuracy', (j) => fmtNum(defaultAccuracy(j.result))],
    ['clean accuracy (evaluation subset)', (j) => fmtNum(cleanAccuracy(j.result))],
    ['corruption mean', (j) => fmtNum(corruptions(j.result || {}).mean)],
  ];
  const accKeys = [...new Set(ok.flatMap((j) => accounting(j.result || {}).map(([k]) => k)))];
  for (const k of accKeys) {
    rows.push([k, (j) => fmtNum((accounting(j.result || {}).find(([kk]) => kk === k) || [])[1])]);
  }
  ctx.app.append(el('section.card#compare-table', el('h2', {text: 'Side by side'}), el('table.grid',
    el('thead', el('tr', el('th', ''), ok.map((j) => el('th', el('a', {href: `#/job/${j.id}`, text: label(j)}))))),
    el('tbody', rows.map(([name, f]) => el('tr', el('th', {text: name}), ok.map((j) => el('td', f(j)))))))));

  // Curves: union of metric names, grouped; one line per (job, name).
  const metrics = await Promise.all(ok.map((j) => j.metric_names.length
    ? api.get(`/jobs/${j.id}/metrics`, {names: j.metric_names.join(','), max_points: 600}) : {series: []}));
  if (!ctx.isCurrent()) return null;
  const names = [...new Set(ok.flatMap((j) => j.metric_names))];
  const curves = el('div.chart-grid');
  ctx.app.append(el('section.card#compare-curves', el('h2', {text: 'Curves'}), curves));
  const units = Object.assign({}, ...ok.map((j) => j.metric_units || {}));
  for (const g of curveGroups(names, units)) {
    const series = [];
    ok.forEach((j, i) => {
      for (const s of metrics[i].series) {
        if (!g.names.includes(s.name)) continue;
        series.push({label: `${j.id}: ${s.name}`, points: s.points.map((p) => [p[0], p[1]])});
      }
    });
    const {box, canvas} = chartBox(`compare-${g.key}`, g.title);
    curves.append(box);
    lineChart(canvas, series, {xTitle: 'step', yTitle: g.title});
  }

  // Figures: robustness curves per job, corruption means per job.
  const figs = el('div.chart-grid');
  ctx.app.append(el('section.card#compare-figures', el('h2', {text: 'Figures'}), figs));
  const adv = [];
  ok.forEach((j) => ['fgsm', 'pgd'].forEach((a) => {
    const pts = adversarial(j.result || {}, a);
    if (pts.length) adv.push({label: `${j.id}: ${a.toUpperCase()}`, points: pts.map((p) => [p.eps * 255, p.acc])});
  }));
  if (adv.length) {
    const {box, canvas} = chartBox('compare-adversarial', 'robust accuracy against ε');
    figs.append(box);
    lineChart(canvas, adv, {xTitle: 'ε × 255', yTitle: 'robust accuracy'});
  }
  const corr = ok.map((j) => corruptions(j.result || {}));
  if (corr.some((c) => c.cells.length)) {
    const sev = [...new Set(corr.flatMap((c) => c.severities))];
    const {box, canvas} = chartBox('compare-corruptions', 'corruption accuracy by severity (mean over corruptions)');
    figs.append(box);
    barChart(canvas, sev.map((s) => `severity ${s}`), ok.map((j, i) => ({label: `job ${j.id}`,
      values: sev.map((s) => {
        const c = corr[i].cells.filter((x) => x.y === s);
        return c.length ? c.reduce((a, x) => a + x.v, 0) / c.length : null;
      })})), {yTitle: 'accuracy'});
  }
  if (!figs.children.length) figs.append(el('p.muted', {text: 'None of these jobs has evaluation figures yet.'}));
  return null;
}
