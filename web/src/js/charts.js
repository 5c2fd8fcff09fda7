// Chart.js wrappers. Every chart's canvas carries data-chart (its name),
// data-series and data-points (kept current on update) so tests and people can
// read what a plot shows; Chart.getChart(canvas) gives the full data.
/* global Chart, ChartErrorBars */

if (window.ChartErrorBars) {
  Chart.register(ChartErrorBars.LineWithErrorBarsController, ChartErrorBars.PointWithErrorBar);
}
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", sans-serif';
Chart.defaults.font.size = 12;
Chart.defaults.color = '#334';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
  '#17becf', '#7f7f7f', '#bcbd22'];

const live = new Set();

// Destroys every chart of the previous page.
export function destroyAll() {
  for (const c of live) c.destroy();
  live.clear();
}

function annotate(chart) {
  const ds = chart.data.datasets;
  chart.canvas.dataset.series = String(ds.length);
  chart.canvas.dataset.points = String(ds.reduce((n, d) => n + d.data.length, 0));
}

export function refresh(chart) {
  chart.update('none');
  annotate(chart);
}

function make(canvas, config) {
  const chart = new Chart(canvas, config);
  live.add(chart);
  annotate(chart);
  return chart;
}

// A box with a title and a canvas; returns {box, canvas}.
export function chartBox(name, title, {height = 260} = {}) {
  const box = document.createElement('figure');
  box.className = 'chart';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  const wrap = document.createElement('div');
  wrap.className = 'canvas-wrap';
  wrap.style.height = height + 'px';
  const canvas = document.createElement('canvas');
  canvas.dataset.chart = name;
  wrap.append(canvas);
  box.append(cap, wrap);
  return {box, canvas};
}

// series: [{label, points: [[x, y], ...]}]
export function lineChart(canvas, series, {xTitle = 'step', yTitle = '', logX = false, logY = false} = {}) {
  return make(canvas, {
    type: 'line',
    data: {datasets: series.map((s, i) => lineDataset(s, i))},
    options: {
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: {mode: 'nearest', intersect: false, axis: 'x'},
      scales: {
        x: {type: logX ? 'logarithmic' : 'linear', title: {display: true, text: xTitle}},
        y: {type: logY ? 'logarithmic' : 'linear', title: {display: !!yTitle, text: yTitle}},
      },
      plugins: {legend: {display: series.length > 1, position: 'bottom'},
        decimation: {enabled: false}},
    },
  });
}

export function lineDataset(s, i) {
  return {
    label: s.label,
    data: s.points.map(([x, y]) => ({x, y})),
    borderColor: s.color || PALETTE[i % PALETTE.length],
    backgroundColor: s.color || PALETTE[i % PALETTE.length],
    borderWidth: 1.5,
    pointRadius: s.points.length > 60 ? 0 : 2.5,
    tension: 0,
  };
}

// series: [{label, points: [{x, mean, stderr, n}]}] -> mean with +-stderr bars.
export function errorBarChart(canvas, series, {xTitle, yTitle, logX = false, percent = false}) {
  const k = percent ? 100 : 1;
  return make(canvas, {
    type: 'lineWithErrorBars',
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.points.map((p) => ({x: p.x, y: p.mean * k, yMin: (p.mean - p.stderr) * k,
          yMax: (p.mean + p.stderr) * k, n: p.n})),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        errorBarColor: PALETTE[i % PALETTE.length],
        errorBarWhiskerColor: PALETTE[i % PALETTE.length],
        errorBarWhiskerSize: 8,
        pointRadius: 3,
        borderWidth: 1.5,
      })),
    },
    options: {
      maintainAspectRatio: false,
      scales: {
        x: {type: logX ? 'logarithmic' : 'linear', title: {display: true, text: xTitle},
          // LC rates are powers of two: tick every power of two in range.
          afterBuildTicks: logX ? (axis) => {
            const ticks = [];
            for (let v = 2 ** Math.floor(Math.log2(axis.min)); v <= axis.max * 1.0001; v *= 2) {
              if (v >= axis.min * 0.9999) ticks.push({value: v});
            }
            axis.ticks = ticks;
          } : undefined,
          ticks: logX ? {callback: (v) => String(v)} : {}},
        y: {title: {display: true, text: yTitle}},
      },
      plugins: {
        legend: {position: 'bottom'},
        tooltip: {callbacks: {label: (ctx) => {
          const r = ctx.raw;
          return `${ctx.dataset.label}: ${r.y.toFixed(3)} ± ${(r.yMax - r.y).toFixed(3)} (n=${r.n})`;
        }}},
      },
    },
  });
}

// A categorical bar chart; groups: [{label, values: [..]}] over labels.
export function barChart(canvas, labels, groups, {yTitle = '', logY = false} = {}) {
  return make(canvas, {
    type: 'bar',
    data: {labels, datasets: groups.map((g, i) => ({label: g.label, data: g.values,
      backgroundColor: g.color || PALETTE[i % PALETTE.length]}))},
    options: {
      maintainAspectRatio: false,
      scales: {y: {type: logY ? 'logarithmic' : 'linear', title: {display: !!yTitle, text: yTitle}}},
      plugins: {legend: {display: groups.length > 1, position: 'bottom'}},
    },
  });
}

// Heat map of cells [{x: label, y: label, v}] (v in [0,1] coloured white -> blue).
export function heatMap(canvas, xLabels, yLabels, cells, {xTitle = '', yTitle = '', percent = true} = {}) {
  const vs = cells.map((c) => c.v).filter((v) => v !== null && v !== undefined);
  const lo = Math.min(...vs), hi = Math.max(...vs);
  const colour = (v) => {
    const t = hi > lo ? (v - lo) / (hi - lo) : 1;
    return `rgba(31, 119, 180, ${(0.1 + 0.9 * t).toFixed(3)})`;
  };
  return make(canvas, {
    type: 'matrix',
    data: {datasets: [{
      label: 'accuracy',
      data: cells,
      backgroundColor: (ctx) => (ctx.raw ? colour(ctx.raw.v) : 'transparent'),
      borderColor: '#fff',
      borderWidth: 1,
      width: ({chart}) => ((chart.chartArea || {}).width || 0) / xLabels.length - 1,
      height: ({chart}) => ((chart.chartArea || {}).height || 0) / yLabels.length - 1,
    }]},
    options: {
      maintainAspectRatio: false,
      scales: {
        x: {type: 'category', labels: xLabels, offset: true, grid: {display: false},
          title: {display: !!xTitle, text: xTitle}, ticks: {autoSkip: false, maxRotation: 60, minRotation: 45}},
        y: {type: 'category', labels: yLabels, offset: true, reverse: false, grid: {display: false},
          title: {display: !!yTitle, text: yTitle}},
      },
      plugins: {
        legend: {display: false},
        tooltip: {callbacks: {title: () => '', label: (ctx) =>
          `${ctx.raw.x}, severity ${ctx.raw.y}: ${percent ? (100 * ctx.raw.v).toFixed(2) + '%' : ctx.raw.v}`}},
      },
    },
  });
}
