// Reads the evaluation figures out of a job's result document. The worker's
// result is one JSON object (issue 4); these readers accept the shapes it may
// take for each figure, so the job and compare pages do not break when a
// field is renamed: e.g. FGSM as [{eps, accuracy}] or {"0.0039": 0.51}.

function findKey(obj, re, depth = 0) {
  if (!obj || typeof obj !== 'object' || depth > 4) return undefined;
  for (const [k, v] of Object.entries(obj)) if (re.test(k)) return v;
  for (const v of Object.values(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const r = findKey(v, re, depth + 1);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const accOf = (o) => (typeof o === 'number' ? o : o && (num(o.accuracy) ?? num(o.acc) ?? num(o.robust_accuracy) ?? num(o.top1)));

export function cleanAccuracy(result) {
  const c = findKey(result, /^clean$/i);
  return accOf(c) ?? num(findKey(result, /^(test_)?accuracy$/i));
}

// [{eps, acc}] sorted by eps, for 'fgsm' or 'pgd'.
export function adversarial(result, attack) {
  let v = findKey(result, new RegExp(`^${attack}$`, 'i'));
  if (v && !Array.isArray(v) && Array.isArray(v.results)) v = v.results;
  let out = [];
  if (Array.isArray(v)) {
    out = v.map((o) => ({eps: num(o.eps) ?? num(o.epsilon), acc: accOf(o)}));
  } else if (v && typeof v === 'object') {
    out = Object.entries(v).map(([k, o]) => ({eps: parseEps(k), acc: accOf(o)}));
  }
  return out.filter((p) => p.eps !== undefined && p.acc !== undefined).sort((a, b) => a.eps - b.eps);
}

function parseEps(k) {
  const m = /^(\d+(?:\.\d+)?)(?:[_/](\d+))?$/.exec(k);
  if (!m) return undefined;
  return m[2] ? Number(m[1]) / Number(m[2]) : Number(m[1]);
}

// {names, severities, cells: [{x: name, y: severity, v: acc}], mean}
export function corruptions(result) {
  let v = findKey(result, /^corruptions?$/i);
  let mean = v && !Array.isArray(v) ? (num(v.mean_accuracy) ?? num(v.mean)) : undefined;
  if (v && !Array.isArray(v) && Array.isArray(v.results)) v = v.results;
  const cells = [];
  if (Array.isArray(v)) {
    for (const o of v) {
      const name = o.name ?? o.corruption;
      if (Array.isArray(o.accuracy)) o.accuracy.forEach((a, i) => cells.push({x: name, y: String(i + 1), v: a}));
      else if (name !== undefined && o.severity !== undefined && accOf(o) !== undefined) {
        cells.push({x: name, y: String(o.severity), v: accOf(o)});
      }
    }
  } else if (v && typeof v === 'object') {
    // {"gaussian_noise": [acc per severity], ..., "severities": [1, ...], "mean": m}
    const sevs = Array.isArray(v.severities) ? v.severities.map(String) : null;
    for (const [name, s] of Object.entries(v)) {
      if (name === 'severities') continue;
      if (Array.isArray(s)) s.forEach((a, i) => cells.push({x: name, y: sevs ? sevs[i] : String(i + 1), v: accOf(a)}));
      else if (s && typeof s === 'object') {
        for (const [sev, a] of Object.entries(s)) if (/^\d+$/.test(sev)) cells.push({x: name, y: sev, v: accOf(a)});
      }
    }
  }
  const good = cells.filter((c) => c.v !== undefined);
  if (mean === undefined && good.length) mean = good.reduce((s, c) => s + c.v, 0) / good.length;
  return {names: [...new Set(good.map((c) => c.x))],
    severities: [...new Set(good.map((c) => c.y))].sort((a, b) => Number(a) - Number(b)),
    cells: good, mean};
}

// [{layer, part, stats: {sparsity, fve, ...}}]; part is S, P or the folded W.
export function filterStats(result) {
  let v = findKey(result, /^filter_?stat(s|istics)?$|^filters$/i);
  if (v && !Array.isArray(v) && Array.isArray(v.layers)) v = v.layers;
  const out = [];
  if (!Array.isArray(v)) return out;
  v.forEach((o, i) => {
    const layer = String(o.layer ?? o.name ?? o.index ?? i);
    const parts = Object.entries(o).filter(([k, s]) => s && typeof s === 'object' && !Array.isArray(s));
    if (parts.length) {
      for (const [part, s] of parts) out.push({layer, part, stats: numericOf(s)});
    } else {
      out.push({layer, part: String(o.part ?? o.tensor ?? o.kind ?? 'W'), stats: numericOf(o)});
    }
  });
  return out;
}

function numericOf(o) {
  const s = {};
  for (const [k, v] of Object.entries(o)) if (num(v) !== undefined && k !== 'index') s[k] = v;
  return s;
}

// Weight and MAC counts: [[name, value]] from the accounting section(s).
export function accounting(result) {
  const rows = [];
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o || {})) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (num(v) !== undefined) rows.push([p, v]);
      else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, p);
    }
  };
  const whole = findKey(result, /^accounting$/i);
  if (whole && typeof whole === 'object') {
    walk(whole, '');
  } else {
    for (const [label, re] of [['params', /^(weights|params|parameters)$/i], ['macs', /^macs(_per_image)?$/i]]) {
      const v = findKey(result, re);
      if (v && typeof v === 'object') walk(v, label);
      else if (num(v) !== undefined) rows.push([label, v]);
    }
  }
  const seen = new Set();
  return rows.filter(([k]) => (seen.has(k) ? false : seen.add(k)));
}

// Groups metric names into the job page's curve charts.
export function curveGroups(names) {
  const groups = [
    {key: 'loss', title: 'loss', test: (n) => /loss/i.test(n)},
    {key: 'accuracy', title: 'accuracy', test: (n) => /acc|top1|top5/i.test(n)},
    {key: 'lr', title: 'learning rate', test: (n) => /(^|[/._])lr($|[/._])|learning_rate/i.test(n)},
    {key: 'throughput', title: 'images per second', test: (n) => /images?_per|img_per|throughput|ips/i.test(n)},
  ];
  const out = groups.map((g) => ({...g, names: []}));
  const other = {key: 'other', title: 'other metrics', names: []};
  for (const n of names) (out.find((g) => g.test(n)) || other).names.push(n);
  return [...out, other].filter((g) => g.names.length);
}
