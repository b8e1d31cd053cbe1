// The graph page in real headless Chromium: it renders the graph from the API
// as SVG, loads nothing from outside the analyzer, and a click on a service
// opens its scope and edges.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { FRONTEND, PAGE, native, tempMesh, type TempMesh } from './support/mesh.ts';

const CHROMIUM = process.env.MESHSCOPE_CHROMIUM ?? '/usr/bin/chromium';

describe('graph page (headless Chromium)', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set MESHSCOPE_CHROMIUM)` }, () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  const errors: string[] = [];

  before(async () => {
    mesh = tempMesh('page');
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir });
    const lines = [
      ...Array.from({ length: 3 }, () => native(PAGE, 'reviews:9080')),
      native(PAGE, 'details:9080'),
      native('reviews-v1-abc.default', 'ratings:9080'),
      native(FRONTEND, 'cart:7070'),
    ];
    const res = await fetch(`http://127.0.0.1:${run.httpPort}/api/v1/access-logs`, { method: 'POST', body: lines.map((l) => JSON.stringify(l)).join('\n') });
    assert.equal((await res.json()).accepted, 6);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${run.httpPort}/`)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  });
  after(async () => {
    await browser?.close();
    await run?.close();
    mesh?.remove();
  });

  it('draws every service and each edge with its count', async () => {
    await page.goto(`http://127.0.0.1:${run.httpPort}/`);
    await page.waitForSelector('body[data-loaded]');
    const nodes = await page.$$eval('svg .node', (els) => els.map((e) => e.getAttribute('data-id')).sort());
    assert.deepEqual(nodes, ['cart.shop', 'details.default', 'frontend.shop', 'loadgen.shop', 'productpage.default', 'ratings.default', 'reviews.default']);
    const edges = await page.$$eval('svg .edge', (els) =>
      els.map((e) => `${e.getAttribute('data-source')}>${e.getAttribute('data-target')}:${e.querySelector('text')?.textContent}`).sort(),
    );
    assert.deepEqual(edges, ['frontend.shop>cart.shop:1', 'productpage.default>details.default:1', 'productpage.default>reviews.default:3', 'reviews.default>ratings.default:1']);
    assert.match(await page.textContent('#stats') ?? '', /7 services, 4 edges, 6 requests/);
    // Every node sits inside the drawing, none on top of another.
    const boxes = await page.$$eval('svg .node circle', (els) => els.map((e) => { const r = e.getBoundingClientRect(); return [r.x, r.y]; }));
    assert.equal(new Set(boxes.map((b) => b.join(','))).size, boxes.length);
    assert.deepEqual(foreign, [], 'no request leaves the analyzer');
    assert.deepEqual(errors, []);
  });

  it('opens a service panel with its scope and edges on click', async () => {
    await page.click('svg .node[data-id="productpage.default"] circle');
    await page.waitForSelector('#panel[data-service="productpage.default"]');
    const scope = await page.$$eval('#panel ul[data-list="scope"] li', (els) => els.map((e) => e.textContent));
    assert.deepEqual(scope, ['details.default', 'reviews.default']);
    const calls = await page.$$eval('#panel table[data-edges="calls"] tr', (rows) => rows.slice(1).map((r) => [...r.children].slice(0, 2).map((c) => c.textContent).join(':')));
    assert.deepEqual(calls, ['details.default:1', 'reviews.default:3']);
    assert.match(await page.textContent('#panel') ?? '', /productpage-v1-abc\.default: \d+ clusters, \d+ B scoped \/ \d+ B full/);
    assert.equal(await page.getAttribute('svg .node[data-id="productpage.default"]', 'class'), 'node selected');
    assert.equal(await page.$$eval('svg .edge.hot', (els) => els.length), 2);
  });

  it('filters by namespace and follows new traffic on refresh', async () => {
    await page.selectOption('#namespace', 'shop');
    await page.waitForFunction(() => document.querySelectorAll('svg .node').length === 3);
    await fetch(`http://127.0.0.1:${run.httpPort}/api/v1/access-logs`, { method: 'POST', body: JSON.stringify(native(FRONTEND, 'reviews.default:9080')) });
    await page.click('#refresh');
    await page.waitForFunction(() => document.querySelectorAll('svg .edge').length === 2);
    const nodes = await page.$$eval('svg .node', (els) => els.map((e) => e.getAttribute('data-id')).sort());
    assert.deepEqual(nodes, ['cart.shop', 'frontend.shop', 'loadgen.shop', 'reviews.default']);
    assert.deepEqual(errors, []);
  });
});
