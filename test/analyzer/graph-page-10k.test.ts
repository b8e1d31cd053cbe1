// The graph page at 10k services / 30k edges (a generated mesh) in real
// headless Chromium: it becomes ready on the namespace overview, search finds a
// service by any part of its name and opens it in place, and focus mode draws
// exactly its neighbourhood; the full graph (every service and edge) becomes
// ready too, drawn with the cheap programs, a drag pans it frame by frame, and
// switching to the overview and back (a big change: a fresh graph) draws each.
// Screenshots go to test-artifacts/. Speed is not asserted here: bench/graph-page.ts prints it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { Analyzer } from '../../analyzer/index.ts';
import { buildApp } from '../../analyzer/http/app.ts';
import { syntheticGraph } from '../../bench/graph-synthetic.ts';
import { artifact, launchChromium } from './support/chromium.ts';

declare const meshscope: {
  graph: { nodes(): string[]; order: number; size: number; hasNode(k: string): boolean; forEachNode(fn: (k: string, a: { type: string }) => void): void; forEachEdge(fn: (k: string, a: { type: string }) => void): void };
  model: { nodes: Map<string, unknown>; edges: Map<string, unknown> };
  sigma: { on(event: string, fn: () => void): void; getCamera(): { getState(): { x: number; y: number; ratio: number } }; getCanvases(): Record<string, HTMLCanvasElement> };
  state: Record<string, unknown>;
  viewport(id: string): { x: number; y: number } | undefined;
};

describe('graph page (headless Chromium, 10k services)', () => {
  let analyzer: Analyzer;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base: string;
  const errors: string[] = [];

  before(async () => {
    const g = syntheticGraph(10_000, 30_000);
    analyzer = Analyzer.open({ inventory: g.inventory });
    for (let i = 0; i < g.records.length; i += 2000) analyzer.ingestRecords(g.records.slice(i, i + 2000));
    app = await buildApp({ analyzer });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await analyzer?.close();
  });

  it('becomes ready on the namespace overview', async () => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => performance.getEntriesByName('meshscope:graph-ready').length === 1, undefined, { timeout: 120_000 });
    const nodes = await page.evaluate(() => meshscope.graph.nodes());
    assert.equal(nodes.length, 100, 'one node per namespace');
    assert.ok(nodes.every((n) => n.startsWith('ns:team-')));
    assert.equal(await page.isChecked('#overview'), true);
    await page.screenshot({ path: artifact('graph-page-10k-overview.png') });
    assert.deepEqual(errors, []);
  });

  it('search-to-locate finds a service by any part of its name and opens it in place', async () => {
    await page.fill('#search', 'ments-4242');
    await page.waitForSelector('#search-results li[data-id]');
    const hits = await page.$$eval('#search-results li[data-id]', (els) => els.map((e) => e.getAttribute('data-id')));
    assert.equal(hits[0], 'payments-4242.team-042');
    await page.press('#search', 'Enter');
    await page.waitForSelector('#panel[data-service="payments-4242.team-042"]', { timeout: 30_000 });
    assert.equal(await page.evaluate(() => meshscope.graph.hasNode('payments-4242.team-042')), true);
    // Its namespace opened in place: its 100 services plus the 99 other namespaces.
    assert.equal(await page.evaluate(() => meshscope.graph.order), 199);
    // The camera went to it: it is on screen, left of the panel.
    await page.waitForFunction(() => {
      const p = meshscope.viewport('payments-4242.team-042')!;
      return p.x > 0 && p.x < innerWidth - 400 && p.y > 0 && p.y < innerHeight;
    }, undefined, { timeout: 10_000 });
    await page.screenshot({ path: artifact('graph-page-10k-located.png') });
  });

  it('focus mode draws the service with exactly its callers and callees', async () => {
    const api = await (await fetch(`${base}/api/v1/services/team-042/payments-4242`)).json();
    const expected = [...new Set(['payments-4242.team-042', ...api.out.map((e: { target: string }) => e.target), ...api.in.map((e: { source: string }) => e.source)])].sort();
    assert.ok(expected.length > 2, 'the generated service has neighbours');
    await page.click('#panel [data-action="focus"]');
    await page.waitForFunction((n) => meshscope.graph.order === n, expected.length, { timeout: 30_000 });
    assert.deepEqual(await page.evaluate(() => meshscope.graph.nodes().sort()), expected);
    await page.selectOption('#hops', '2');
    await page.waitForFunction((n) => meshscope.graph.order > n, expected.length, { timeout: 30_000 });
    await page.screenshot({ path: artifact('graph-page-10k-focus.png') });
    assert.deepEqual(errors, []);
  });

  it('the full graph (every service drawn) becomes ready, with points and lines, and a drag pans it frame by frame', async () => {
    await page.goto(`${base}/?overview=0`);
    await page.waitForFunction(() => performance.getEntriesByName('meshscope:graph-ready').length === 1, undefined, { timeout: 120_000 });
    const drawn = await page.evaluate(() => {
      const types = new Set<string>();
      meshscope.graph.forEachNode((_k, a) => types.add(`node:${a.type}`));
      meshscope.graph.forEachEdge((_k, a) => types.add(`edge:${a.type}`));
      return { order: meshscope.graph.order, size: meshscope.graph.size, services: meshscope.model.nodes.size, edges: meshscope.model.edges.size, types: [...types].sort() };
    });
    assert.equal(drawn.order, 10_000);
    assert.equal(drawn.order, drawn.services, 'every service drawn');
    assert.equal(drawn.size, drawn.edges, 'every edge drawn');
    assert.ok(drawn.size >= 25_000, `${drawn.size} edges`);
    // At this size discs and arrows cost seconds a frame on a software GL (display.ts, FAST_*).
    assert.deepEqual(drawn.types, ['edge:line', 'node:point']);
    await page.screenshot({ path: artifact('graph-page-10k-full.png') });

    await page.evaluate(() => {
      const w = window as unknown as { renders: number; readBacks: number };
      w.renders = 0;
      w.readBacks = 0;
      meshscope.sigma.on('afterRender', () => w.renders++);
      // Pixels read back from the GPU (sigma's node picking): each waits for the GPU to finish drawing.
      for (const proto of [WebGLRenderingContext.prototype, WebGL2RenderingContext.prototype]) {
        const read = proto.readPixels as (...args: unknown[]) => void;
        proto.readPixels = function (this: unknown, ...args: unknown[]) {
          w.readBacks++;
          return read.apply(this, args);
        } as typeof proto.readPixels;
      }
    });
    const layer = (name: string) => page.evaluate((n) => meshscope.sigma.getCanvases()[n].style.visibility, name);
    const before = await page.evaluate(() => meshscope.sigma.getCamera().getState());
    const box = (await page.locator('#graph').boundingBox())!;
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x - 10, y - 5);
    const readBefore = await page.evaluate(() => (window as unknown as { readBacks: number }).readBacks);
    for (let i = 2; i <= 20; i++) await page.mouse.move(x - 10 * i, y - 5 * i);
    // While dragged: nothing read back per move, and the layers of what is not drawn on move (edges,
    // highlights) hidden, so a software compositor does not copy them every frame.
    assert.equal(await page.evaluate(() => (window as unknown as { readBacks: number }).readBacks), readBefore, 'no GPU read-back per move of a drag');
    assert.deepEqual([await layer('edges'), await layer('hoverNodes')], ['hidden', 'hidden']);
    await page.mouse.up();
    await page.waitForFunction(() => meshscope.sigma.getCanvases().edges.style.visibility === '' && meshscope.sigma.getCanvases().hoverNodes.style.visibility === '', undefined, { timeout: 10_000 });
    // Dragged left and up: the camera went right and down (sigma's y axis points up), one frame per move or so.
    const after = await page.evaluate(() => meshscope.sigma.getCamera().getState());
    assert.ok(after.x > before.x && after.y < before.y, `camera ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    const renders = await page.evaluate(() => (window as unknown as { renders: number }).renders);
    assert.ok(renders >= 5, `${renders} frames drawn during a 20-step drag`);

    // A big change (every service ⇄ the overview) is handed over as a fresh graph, and back.
    const frame = () => page.evaluate(() => Number(document.body.dataset.frame));
    let shown = await frame();
    await page.check('#overview');
    await page.waitForFunction((n) => Number(document.body.dataset.frame) > n && meshscope.graph.order === 100, shown, { timeout: 60_000 });
    shown = await frame();
    await page.uncheck('#overview');
    await page.waitForFunction((n) => Number(document.body.dataset.frame) > n && meshscope.graph.order === 10_000, shown, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => meshscope.graph.size), drawn.edges);
    assert.deepEqual(errors, []);
  });
});
