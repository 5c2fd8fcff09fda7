// Browser tests of the dashboard: playwright-core drives Debian's chromium
// (headless) against lcsweep_web_test_server, which hosts the real
// Coordinator + SqliteStore + HttpServer seeded through the Coordinator API.
// Screenshots of every page go to $LCSWEEP_WEB_ARTIFACTS.
//
// Run by ctest (tests/web/CMakeLists.txt sets the environment), or by hand:
//   LCSWEEP_WEB_TEST_SERVER=build/tests/web/lcsweep_web_test_server \
//   LCSWEEP_NODE_MODULES=build/web-test-npm/node_modules node --test tests/web/dashboard.test.mjs
import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createRequire} from 'node:module';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createHash} from 'node:crypto';
import {tmpdir} from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const SERVER = process.env.LCSWEEP_WEB_TEST_SERVER && path.resolve(process.env.LCSWEEP_WEB_TEST_SERVER);
const MODULES = process.env.LCSWEEP_NODE_MODULES;
const ARTIFACTS = process.env.LCSWEEP_WEB_ARTIFACTS || path.join(tmpdir(), 'lcsweep-web-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const COORDINATOR = process.env.LCSWEEP_COORDINATOR && path.resolve(process.env.LCSWEEP_COORDINATOR);
const ADMIN = 'admin-secret';
const READER = 'reader-secret';

if (!SERVER || !MODULES) {
  console.error('set LCSWEEP_WEB_TEST_SERVER and LCSWEEP_NODE_MODULES (ctest does)');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`SKIP: no chromium at ${CHROMIUM} (deploy/install-deps.sh installs it)`);
  process.exit(77);
}
const {chromium} = createRequire(path.resolve(MODULES) + '/')('playwright-core');

let server, lines, info, base, browser, context, userDir, tmp;
const consoleErrors = [];

// One request/answer with the test host's simulated worker.
async function worker(cmd) {
  server.stdin.write(cmd + '\n');
  const {value} = await lines.next();
  assert.equal(value, 'ok', `worker command '${cmd}' answered '${value}'`);
}

// Scripts authenticate with a bearer token; the reader's unless `init.headers` says otherwise.
async function api(p, init = {}) {
  const headers = {Authorization: `Bearer ${READER}`, ...(init.headers || {})};
  for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
  const res = await fetch(base + '/api/v1' + p, {...init, headers});
  return {status: res.status, body: await res.json()};
}

// Signs the browser in through the sign-in page, as a person would.
async function signIn(page, url, token) {
  await page.goto(url + '/login.html');
  await page.fill('#token', token);
  await Promise.all([page.waitForURL((u) => !u.pathname.endsWith('/login.html')), page.click('#sign-in-button')]);
  await page.waitForFunction(() => document.body.dataset.ready, null, {timeout: 15000});
}

async function signOut(page) {
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/login.html')), page.click('#sign-out')]);
}

async function open(page, hash) {
  await page.goto(base + '/' + hash);
  await page.waitForFunction(() => document.body.dataset.ready, null, {timeout: 15000});
  // Let charts and async sections finish.
  await page.waitForLoadState('networkidle').catch(() => {});
}

async function chartInfo(page, name) {
  return page.evaluate((n) => {
    const c = document.querySelector(`canvas[data-chart="${n}"]`);
    if (!c) return null;
    const ch = window.Chart.getChart(c);
    return {series: ch.data.datasets.length, points: ch.data.datasets.map((d) => d.data.length),
      labels: ch.data.datasets.map((d) => d.label), data: ch.data.datasets.map((d) => d.data),
      attrSeries: Number(c.dataset.series), attrPoints: Number(c.dataset.points)};
  }, name);
}

async function newPage() {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

function assertNoConsoleErrors(where) {
  assert.deepEqual(consoleErrors, [], `console errors on ${where}`);
}

before(async () => {
  mkdirSync(ARTIFACTS, {recursive: true});
  tmp = mkdtempSync(path.join(tmpdir(), 'lcsweep-web-'));
  server = spawn(SERVER, ['--db', path.join(tmp, 'coordinator.db'), '--listen', '127.0.0.1:0',
    '--admin-token', ADMIN, '--reader-token', READER], {stdio: ['pipe', 'pipe', 'inherit']});
  lines = readline.createInterface({input: server.stdout})[Symbol.asyncIterator]();
  const first = await lines.next();
  assert.ok(!first.done, 'the test server exited before it was ready');
  info = JSON.parse(first.value);
  base = `http://127.0.0.1:${info.port}`;
  userDir = path.join(tmp, 'chromium-profile');
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM, headless: true, viewport: {width: 1400, height: 1000},
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await context.newPage();
  await signIn(page, base, READER);
  await page.close();
});

after(async () => {
  if (context) await context.close();
  if (server) {
    server.stdin.end('quit\n');
    await new Promise((r) => { server.on('exit', r); setTimeout(() => { server.kill('SIGKILL'); r(); }, 5000); });
  }
  if (tmp) rmSync(tmp, {recursive: true, force: true});
});

test('overview shows the sweep with progress and every worker', async () => {
  const page = await newPage();
  await open(page, '#/');
  const row = page.locator('#sweeps tr[data-sweep]');
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /lc_rate_fashion_mnist/);
  assert.match(await row.innerText(), new RegExp(`${info.succeeded.length} succeeded`));
  // One progress segment per non-empty state: queued, running, succeeded, failed.
  assert.equal(await row.locator('.progress .seg').count(), 4);
  const workers = page.locator('#workers tr[data-worker]');
  assert.equal(await workers.count(), 3);
  const busy = await page.locator('#workers tr[data-worker]', {hasText: `job ${info.running[0]}`}).innerText();
  assert.match(busy, /H100/);
  assert.match(busy, /img\/s/);
  assert.match(busy, /alive/);
  await page.screenshot({path: path.join(ARTIFACTS, 'overview.png'), fullPage: true});
  assertNoConsoleErrors('overview');
  await page.close();
});

test('sweep page: ablation plot, pivot with published numbers, job table', async () => {
  const page = await newPage();
  await open(page, `#/sweep/${info.sweep_id}`);
  await page.waitForSelector('canvas[data-chart="ablation"][data-series]');

  // Independent expectation from the job table API: the succeeded jobs grouped
  // by (variant, E); mean over seeds of their full test set accuracy (the
  // default figure and the one the published numbers are of; the seeded
  // evaluation.clean.accuracy differs from it, as on real runs).
  const jobs = (await api(`/sweeps/${info.sweep_id}/jobs?state=succeeded&limit=1000&metric=final.test_accuracy`)).body.jobs;
  assert.equal(await page.evaluate(() => document.querySelector('canvas[data-chart="ablation"]').dataset.metric),
    'final.test_accuracy');
  assert.equal(jobs.length, info.succeeded.length);
  const groups = new Map();
  for (const j of jobs) {
    const key = `${j.variant}|${j.axes['model.conv.lc_rate']}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(j.metric);
  }
  const variants = [...new Set(jobs.map((j) => j.variant))].sort();
  const chart = await chartInfo(page, 'ablation');
  assert.equal(chart.series, variants.length, `series ${chart.labels}`);
  assert.equal(chart.attrSeries, variants.length);
  for (const [i, label] of chart.labels.entries()) {
    const variant = label.replace(' (baseline)', '');
    const rates = [...groups.keys()].filter((k) => k.startsWith(variant + '|'));
    // The plain baseline (no LC rate) is a flat reference line: 2 points.
    const expected = label.endsWith('(baseline)') ? 2 : rates.length;
    assert.equal(chart.points[i], expected, `points of ${label}`);
    if (!label.endsWith('(baseline)')) {
      for (const p of chart.data[i]) {
        const vals = groups.get(`${variant}|${p.x}`);
        const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
        assert.ok(Math.abs(p.y - 100 * mean) < 1e-6, `${label} E=${p.x}: ${p.y} vs ${100 * mean}`);
        if (vals.length > 1) {
          const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1));
          const se = 100 * sd / Math.sqrt(vals.length);
          assert.ok(Math.abs((p.yMax - p.y) - se) < 1e-6, `std error of ${label} E=${p.x}`);
        }
      }
    }
  }
  assert.equal(await page.evaluate(() => window.Chart.getChart(
    document.querySelector('canvas[data-chart="ablation"]')).options.scales.x.type), 'logarithmic');

  // Pivot: the plain learned baseline on Fashion-MNIST matches docs/method.md's 93.65.
  const published = page.locator('#pivot td[data-published]');
  assert.ok(await published.count() >= 1);
  assert.match(await published.first().innerText(), /paper 93\.65 ± 0\.18/);

  // Significance against a chosen reference cell: "vs" in the first cell.
  await page.locator('#pivot button.vs-pick').first().click();
  await page.waitForSelector('#pivot .vs.reference');
  const refText = (await page.locator('#piv-ref').innerText()).match(/reference: (.*?)\s*clear$/)[1];
  const vsData = (await api(`/sweeps/${info.sweep_id}/results?metric=final.test_accuracy&vs=${encodeURIComponent(refText)}`)).body;
  assert.equal(vsData.vs, refText);
  const refCell = vsData.cells.flat().find((c) => c && c.reference);
  const compared = vsData.cells.flat().filter((c) => c && c.vs_ref);
  assert.ok(compared.length >= 1);
  for (const c of compared) {
    // The difference is cell minus reference (the statistics themselves are
    // checked against scipy in tests/analysis/significance_test.cc).
    assert.ok(Math.abs(c.vs_ref.diff - (c.mean - refCell.mean)) < 1e-12);
    assert.ok(c.vs_ref.p === null || (c.vs_ref.p >= 0 && c.vs_ref.p <= 1));
  }
  const shown = await page.locator('#pivot .vs:not(.reference)').allInnerTexts();
  assert.equal(shown.length, compared.length);
  const d0 = compared[0].vs_ref.diff * 100;
  assert.ok(shown[0].startsWith(`Δ ${d0 >= 0 ? '+' : ''}${d0.toFixed(2)} p=`), shown[0]);
  await page.click('#piv-ref-clear');
  await page.waitForFunction(() => !document.querySelector('#pivot .vs'));

  // Job table: a succeeded job's epoch column reads its epoch count, not the
  // last progress report's.
  const done = page.locator(`#job-table tr[data-job="${info.succeeded[0]}"] td.epoch`);
  assert.equal(await done.innerText(), `${jobs[0].epochs}/${jobs[0].epochs}`);
  assert.ok(jobs[0].epochs > 0);
  // Pagination, filter, sort (all server-side).
  assert.equal(await page.locator('#job-table tbody tr').count(), 50);
  assert.match(await page.locator('#page-info').innerText(), /1–50 of 51/);
  await page.screenshot({path: path.join(ARTIFACTS, 'sweep.png'), fullPage: true});
  await page.click('.pager button:has-text("next")');
  await page.waitForFunction(() => document.querySelectorAll('#job-table tbody tr').length === 1);
  await page.fill('#job-filter', 'lc_rate=8 spatial=frozen');
  await page.waitForFunction(() => document.querySelector('#page-info')?.textContent.includes('of 3 (filtered'));
  assert.equal(await page.locator('#job-table tbody tr').count(), 3);
  await page.fill('#job-filter', '');
  await page.waitForFunction(() => document.querySelector('#page-info')?.textContent.startsWith('1–50 of 51'));
  await page.click('#job-table th[data-sort="metric"]');
  await page.click('#job-table th[data-sort="metric"]');  // descending
  await page.waitForSelector('#job-table th.sorted-desc[data-sort="metric"]');
  const best = Number(await page.locator('#job-table tbody tr:first-child td.num').first().innerText());
  const max = Math.max(...jobs.map((j) => j.metric));
  assert.ok(Math.abs(best - max) < 1e-3, `first row ${best} vs best ${max}`);
  assertNoConsoleErrors('sweep');
  await page.close();
});

test('sweep page: cost per arm next to accuracy, and the two cost plots', async () => {
  const page = await newPage();
  await open(page, `#/sweep/${info.sweep_id}`);
  await page.waitForSelector('#cost-table tr[data-arm="total"]');
  // The seeded attempts' CPU-seconds (what they reported) in hours, the
  // succeeded and the failed ones: abandoned work counts too.
  const total = page.locator('#cost-table tr[data-arm="total"] td');
  const cpuHours = Number(await total.nth(4).innerText());
  assert.ok(Math.abs(cpuHours - info.finished_cpu_seconds / 3600) < 1e-3,
    `total CPU h ${cpuHours} vs ${info.finished_cpu_seconds / 3600}`);
  assert.equal(Number(await total.nth(3).innerText()), info.failed.length, 'abandoned attempts');
  // Every arm with a succeeded job is one point on the accuracy plots.
  const cost = (await api(`/sweeps/${info.sweep_id}/cost`)).body;
  const withResults = cost.arms.filter((a) => a.accuracy.n > 0).length;
  assert.ok(withResults >= 2);
  const compute = await chartInfo(page, 'cost-compute');
  assert.equal(compute.series, withResults);
  const arm = cost.arms.find((a) => a.accuracy.n > 0);
  const i = compute.data.findIndex((d) => Math.abs(d[0].y - 100 * arm.accuracy.mean) < 1e-9);
  assert.ok(i >= 0, 'an arm\'s accuracy is plotted');
  assert.ok(Math.abs(compute.data[i][0].x - arm.totals.gpu_seconds / 3600 / arm.accuracy.n) < 1e-9,
    'x is GPU hours per seed');
  const params = await chartInfo(page, 'cost-params');
  assert.equal(params.series, cost.arms.filter((a) => a.accuracy.n > 0 && a.learned_parameters).length);
  assertNoConsoleErrors('sweep cost');
  await page.close();
});

test('job page: curves, robustness, corruption heat map, filter statistics, accounting', async () => {
  const id = info.succeeded[info.succeeded.length - 1];
  const page = await newPage();
  await open(page, `#/job/${id}`);
  await page.waitForSelector('canvas[data-chart="corruptions"]');
  const metrics = (await api(`/jobs/${id}/metrics?names=train/loss&max_points=0`)).body.series[0];
  const loss = await chartInfo(page, 'curve-loss');
  assert.equal(loss.series, 1);
  assert.equal(loss.points[0], Math.min(1000, metrics.total));
  assert.deepEqual(loss.data[0].map((p) => p.y), metrics.points.map((p) => p[1]));
  for (const name of ['curve-accuracy', 'curve-lr', 'curve-throughput']) {
    assert.ok((await chartInfo(page, name))?.series >= 1, name);
  }
  // One chart per unit: epoch seconds on an axis of their own, no mixed "other" chart.
  assert.deepEqual((await chartInfo(page, 'curve-seconds')).labels, ['epoch.seconds']);
  assert.equal(await page.locator('canvas[data-chart^="curve-other"]').count(), 0);
  assert.deepEqual((await chartInfo(page, 'curve-accuracy')).labels.sort(), ['test/acc', 'train/acc']);
  const adv = await chartInfo(page, 'adversarial');
  assert.deepEqual(adv.labels, ['FGSM', 'PGD']);
  assert.deepEqual(adv.points, [5, 5]);  // clean + 4 epsilons each
  const corr = await chartInfo(page, 'corruptions');
  assert.equal(corr.points[0], 19 * 5);
  const sparsity = await chartInfo(page, 'filter-sparsity');
  assert.deepEqual(sparsity.labels.sort(), ['P', 'S', 'folded']);
  assert.equal(sparsity.points[0], 19);  // ResNet-20: stem + 18 convs
  const fve = await chartInfo(page, 'filter-fve_normalised');
  assert.deepEqual(fve.labels.sort(), ['S', 'folded']);  // no FVE for the 1x1 P
  assert.match(await page.locator('#accounting').innerText(), /params\.total[\s\S]*macs\.inference/);
  assert.ok(await page.locator('#event-table tbody tr').count() >= 3);
  await page.screenshot({path: path.join(ARTIFACTS, 'job.png'), fullPage: true});
  assertNoConsoleErrors('job');
  await page.close();
});

test('a metric reported by a simulated worker appears live within two seconds', async () => {
  const id = info.running[0];
  const page = await newPage();
  await open(page, `#/job/${id}`);
  await page.waitForSelector('canvas[data-chart="curve-loss"]');
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live');
  const before = await chartInfo(page, 'curve-loss');
  const t0 = Date.now();
  await worker(`report ${id} train/loss 99999 0.123`);
  await page.waitForFunction(() => {
    const ch = window.Chart.getChart(document.querySelector('canvas[data-chart="curve-loss"]'));
    return ch.data.datasets[0].data.some((p) => p.x === 99999 && Math.abs(p.y - 0.123) < 1e-9);
  }, null, {timeout: 2000});
  const elapsed = Date.now() - t0;
  const afterInfo = await chartInfo(page, 'curve-loss');
  assert.equal(afterInfo.points[0], before.points[0] + 1);
  console.log(`live metric visible after ${elapsed} ms`);
  assertNoConsoleErrors('live job page');
  await page.close();
});

test('cancel: absent for a read-only session, works for an admin one', async () => {
  const id = info.running[1];
  const page = await newPage();
  await open(page, `#/job/${id}`);
  await page.waitForFunction(() => /read-only/.test(document.getElementById('role').textContent));
  assert.equal(await page.locator('#cancel-job').count(), 0, 'read-only session: no cancel button');
  const denied = await api(`/jobs/${id}/cancel`, {method: 'POST'});
  assert.equal(denied.status, 403);
  assert.ok(denied.body.error && denied.body.hint);
  const anon = await api(`/jobs/${id}/cancel`, {method: 'POST', headers: {Authorization: null}});
  assert.equal(anon.status, 401);
  // The session cookie alone does not make a change: the CSRF header is needed.
  const noCsrf = await page.evaluate(async (u) => (await fetch(u, {method: 'POST'})).status, `/api/v1/jobs/${id}/cancel`);
  assert.equal(noCsrf, 403);
  // The browser logs the refused request this test made on purpose; only that
  // one is expected, every other console error still fails the test.
  await page.waitForTimeout(200);
  const expected = consoleErrors.filter((e) => /status of 403/.test(e));
  assert.equal(expected.length, 1, `one refused request logged: ${consoleErrors}`);
  consoleErrors.splice(consoleErrors.indexOf(expected[0]), 1);
  assert.equal((await api(`/jobs/${id}`)).body.state, 'running');

  await signOut(page);
  await signIn(page, base, ADMIN);
  await open(page, `#/job/${id}`);
  await page.waitForFunction(() => /\(admin\)/.test(document.getElementById('role').textContent));
  await page.waitForSelector('#cancel-job');
  await page.click('#cancel-job');
  // The state badge updates through the live stream.
  await page.waitForSelector('#job-head .badge.state-cancelled', {timeout: 5000});
  assert.equal((await api(`/jobs/${id}`)).body.state, 'cancelled');
  await page.waitForSelector('#retry-job');
  await page.screenshot({path: path.join(ARTIFACTS, 'job-cancelled-admin.png'), fullPage: false});
  await signOut(page);
  await signIn(page, base, READER);
  assertNoConsoleErrors('cancel');
  await page.close();
});

test('compare page: two jobs side by side', async () => {
  const [a, b] = [info.succeeded[3], info.succeeded[info.succeeded.length - 1]];
  const page = await newPage();
  await open(page, `#/compare?jobs=${a},${b}`);
  await page.waitForSelector('canvas[data-chart="compare-loss"]');
  const loss = await chartInfo(page, 'compare-loss');
  assert.deepEqual(loss.labels, [`${a}: train/loss`, `${b}: train/loss`]);
  const adv = await chartInfo(page, 'compare-adversarial');
  assert.equal(adv.series, 4);  // FGSM and PGD for each job
  const corr = await chartInfo(page, 'compare-corruptions');
  assert.equal(corr.series, 2);
  assert.equal(await page.locator('#compare-table thead th a').count(), 2);
  await page.screenshot({path: path.join(ARTIFACTS, 'compare.png'), fullPage: true});
  assertNoConsoleErrors('compare');
  await page.close();
});

test('API errors are JSON with a hint and a matching HTTP code', async () => {
  const missing = await api('/jobs/999999');
  assert.equal(missing.status, 404);
  assert.ok(missing.body.error && missing.body.hint);
  const bad = await api(`/sweeps/${info.sweep_id}/jobs?limit=5000`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /limit/);
  const badKey = await api(`/sweeps/${info.sweep_id}/jobs?filter=${encodeURIComponent('colour=red')}`);
  assert.equal(badKey.status, 400);
  assert.match(badKey.body.hint, /model\.conv\.lc_rate/);
});

test('lcsweep-coordinator serves the dashboard on --http-listen with its tokens file', {
  skip: !COORDINATOR || !existsSync(COORDINATOR) ? 'lcsweep-coordinator not built' : false,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lcsweep-coord-'));
  const admin = 'a'.repeat(8) + '-dashboard-admin-token';
  const digest = createHash('sha256').update(admin).digest('hex');
  writeFileSync(path.join(dir, 'tokens'), `sha256:${digest} admin dashboard-test\n`);
  chmodSync(path.join(dir, 'tokens'), 0o600);
  const proc = spawn(COORDINATOR, ['--db', path.join(dir, 'c.db'), '--artifacts', path.join(dir, 'artifacts'),
    '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--tokens-file', path.join(dir, 'tokens')],
  {stdio: ['ignore', 'pipe', 'pipe']});
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  try {
    const out = readline.createInterface({input: proc.stdout})[Symbol.asyncIterator]();
    let url = null;
    const deadline = Date.now() + 20000;
    while (!url && Date.now() < deadline) {
      const {value, done} = await out.next();
      if (done) break;
      const m = /dashboard on (http:\/\/\S+)/.exec(value);
      if (m) url = m[1];
    }
    assert.ok(url, `no dashboard URL printed; stderr: ${stderr}`);
    const page = await newPage();
    // Not signed in: the page sends the browser to the sign-in form, and data is refused.
    await page.goto(url + '/#/');
    await page.waitForURL((u) => u.pathname.endsWith('/login.html'));
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/sweeps')).status), 401);
    await page.fill('#token', 'not-the-right-token-at-all');
    await page.click('#sign-in-button');
    await page.waitForSelector('#sign-in-error:not([hidden])');
    assert.match(await page.locator('#sign-in-error').innerText(), /not known/);
    consoleErrors.length = 0;  // the refused fetches above log errors by design

    await signIn(page, url, admin);
    assert.match(await page.locator('#sweeps').innerText(), /No sweeps yet/);
    await page.waitForFunction(() => /dashboard-test \(admin\)/.test(document.getElementById('role').textContent));
    const cookies = await context.cookies(url);
    const session = cookies.find((c) => c.name === 'lcsweep_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/sweeps')).status), 200);
    await page.waitForSelector('#live.live-live', {timeout: 10000});

    await signOut(page);
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/sweeps')).status), 401, 'refused after sign-out');
    await page.goto(url + '/#/');
    await page.waitForURL((u) => u.pathname.endsWith('/login.html'));
    // The old cookie value is dead on the server, not only forgotten by the browser.
    const replay = await fetch(url + '/api/v1/sweeps', {headers: {Cookie: `lcsweep_session=${session.value}`}});
    assert.equal(replay.status, 401);
    consoleErrors.length = 0;
    await page.close();
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => { proc.on('exit', r); setTimeout(() => { proc.kill('SIGKILL'); r(); }, 10000); });
    rmSync(dir, {recursive: true, force: true});
  }
});
