// Reads the figures out of a job's result document by the schema the API
// serves (GET /api/v1/schema, analysis/figures.h on the server): the paths
// of its sections are the schema's, not guesses. app.js loads the schema
// once before the first page (setSchema).

let schema = null;

export function setSchema(s) { schema = s; }
export function getSchema() { return schema; }

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

// The value at a dotted path ("evaluation.fgsm") of the document.
function at(doc, dotted) {
  let v = doc;
  for (const k of (dotted || '').split('.')) {
    if (!v || typeof v !== 'object') return undefined;
    v = v[k];
  }
  return v;
}
const section = (result, key) => at(result || {}, schema?.sections?.[key]);

// The default figure (the full test set's accuracy), a fraction.
export function defaultAccuracy(result) { return num(at(result || {}, schema?.default_figure)); }
// The evaluation's clean accuracy: the baseline of the attacks (its test subset).
export function cleanAccuracy(result) { return num(section(result, 'clean')?.accuracy); }

// [{eps, acc}] sorted by eps, for 'fgsm' or 'pgd'.
export function adversarial(result, attack) {
  const v = section(result, attack);
  if (!Array.isArray(v)) return [];
  return v.map((o) => ({eps: num(o.eps), acc: num(o.accuracy)}))
    .filter((p) => p.eps !== undefined && p.acc !== undefined).sort((a, b) => a.eps - b.eps);
}

// {names, severities, cells: [{x: name, y: severity, v: acc}], mean}
// from {"gaussian_noise": [acc per severity], ..., "severities": [1, ...], "mean": m}.
export function corruptions(result) {
  const v = section(result, 'corruptions');
  const cells = [];
  if (v && typeof v === 'object') {
    const sevs = Array.isArray(v.severities) ? v.severities.map(String) : [];
    for (const [name, s] of Object.entries(v)) {
      if (name === 'severities' || !Array.isArray(s)) continue;
      s.forEach((a, i) => { if (num(a) !== undefined) cells.push({x: name, y: sevs[i] ?? String(i + 1), v: a}); });
    }
  }
  return {names: [...new Set(cells.map((c) => c.x))],
    severities: [...new Set(cells.map((c) => c.y))].sort((a, b) => Number(a) - Number(b)),
    cells, mean: num(v?.mean)};
}

// [{layer, part, stats}] from [{name, index, S|P|folded: {sparsity, fve, ...}}].
export function filterStats(result) {
  const v = section(result, 'filter_stats');
  const out = [];
  if (!Array.isArray(v)) return out;
  v.forEach((o, i) => {
    const layer = String(o.name ?? i);
    for (const [part, s] of Object.entries(o)) {
      if (!s || typeof s !== 'object' || Array.isArray(s)) continue;
      const stats = {};
      for (const [k, x] of Object.entries(s)) if (num(x) !== undefined) stats[k] = x;
      out.push({layer, part, stats});
    }
  });
  return out;
}

// Weight and MAC counts: [[name, value]] from the model's accounting.
export function accounting(result) {
  const rows = [];
  for (const [label, key] of [['params', 'parameters'], ['macs', 'macs']]) {
    const v = section(result, key);
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (num(x) !== undefined) rows.push([`${label}.${k}`, x]);
    }
  }
  return rows;
}

// The job page's curve charts: one per unit (the API's metric_units, from
// the schema), so seconds, rates and losses never share an axis.
const UNIT_CHARTS = [
  ['loss', 'loss', 'loss'], ['fraction', 'accuracy', 'accuracy'], ['lr', 'lr', 'learning rate'],
  ['rate', 'throughput', 'images per second'], ['seconds', 'seconds', 'seconds'],
];
export function curveGroups(names, units = {}) {
  const out = UNIT_CHARTS.map(([unit, key, title]) => ({unit, key, title, names: []}));
  const other = new Map();  // unknown units: one chart each
  for (const n of names) {
    const u = units[n] || 'other';
    const g = out.find((x) => x.unit === u);
    if (g) g.names.push(n);
    else {
      if (!other.has(u)) other.set(u, {unit: u, key: `other-${u}`, title: u === 'other' ? 'other metrics' : u, names: []});
      other.get(u).names.push(n);
    }
  }
  return [...out, ...other.values()].filter((g) => g.names.length);
}
