// The graph page at 1k and 10k services (3 edges per service): not a test,
// prints figures.
//   node --import tsx bench/graph-page.ts [services ...]     (default: 1000 10000)
// Per size: the server side — full layout (namespace seed + ForceAtlas2 in its
// worker), GET /api/v1/graph, /api/v1/graph/view and /api/v1/services latency
// (first answer of a version, then cached: median of 5) and bytes (plain and
// gzip) — and in headless Chromium: time from navigation to
// `meshscope:graph-ready` (target ≤ 2 s at 10k) on the default view and on the
// full graph, JS heap after load, and frame times while the camera pans.
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildApp } from '../analyzer/http/app.ts';
import { Analyzer } from '../analyzer/index.ts';
import { launchChromium } from '../test/analyzer/support/chromium.ts';
import { syntheticGraph } from './graph-synthetic.ts';
import { median, percentile } from './stats.ts';

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
const ms = (n: number): string => `${n.toFixed(0)} ms`;

async function timed(app: FastifyInstance, url: string, gzip: boolean): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const res = await app.inject({ url, headers: gzip ? { 'accept-encoding': 'gzip' } : {} });
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  return { ms: performance.now() - t, bytes: res.rawPayload.length };
}

async function api(app: FastifyInstance, url: string): Promise<string> {
  const first = await timed(app, url, true);
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push((await timed(app, url, true)).ms);
  const plain = await timed(app, url, false);
  return `${url.padEnd(20)} first ${ms(first.ms).padStart(8)}, cached median ${ms(median(warm)!).padStart(6)}; ${kb(plain.bytes)} plain, ${kb(first.bytes)} gzip`;
}

async function ready(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('meshscope:graph-ready').length > 0, undefined, { timeout: 180_000 });
  return page.evaluate(() => performance.getEntriesByName('meshscope:graph-ready')[0].startTime);
}

/** Drags the graph with the mouse for ~2 s, as a user pans; the intervals between the frames drawn meanwhile. */
async function panFrames(page: Page): Promise<number[]> {
  // A string, not a function: tsx's name helpers do not exist in the page.
  await page.evaluate(`(() => {
    const frames = (window.__frames = []);
    let last = performance.now();
    window.__recording = true;
    function step(now) {
      frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  })()`);
  const box = (await page.locator('#graph').boundingBox())!;
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  await page.mouse.move(x, y);
  await page.mouse.down();
  const end = Date.now() + 2000;
  for (let i = 0; Date.now() < end; i++) await page.mouse.move(x + 150 * Math.sin(i / 10), y + 100 * Math.cos(i / 10));
  await page.mouse.up();
  return page.evaluate(`(window.__recording = false, window.__frames.slice(1))`);
}

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / (1 << 20);
}

async function main(): Promise<void> {
  const browser = await launchChromium();
  try {
    for (const n of SIZES.length ? SIZES : [1000, 10_000]) {
      const t0 = performance.now();
      const g = syntheticGraph(n, 3 * n);
      const analyzer = Analyzer.open({ inventory: g.inventory });
      for (let i = 0; i < g.records.length; i += 2000) analyzer.ingestRecords(g.records.slice(i, i + 2000));
      const app = await buildApp({ analyzer });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      process.stdout.write(`\n== ${n} services, ${g.edges} edges (mesh + ingest ${ms(performance.now() - t0)}) ==\n`);
      try {
        const tl = performance.now();
        await app.inject('/api/v1/graph/view');
        process.stdout.write(`layout (seed + ForceAtlas2 worker)   ${ms(performance.now() - tl)}\n`);
        for (const url of ['/api/v1/graph', '/api/v1/graph/view', '/api/v1/services']) process.stdout.write(`${await api(app, url)}\n`);
        await fetch(`${base}/`); // bundles the page once, as the first visitor would
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        for (const [label, query] of [['default view', ''], ['full graph  ', '?overview=0']] as const) {
          const runs: number[] = [];
          for (let i = 0; i < 3; i++) runs.push(await ready(page, `${base}/${query}`));
          const frames = await panFrames(page);
          const heap = await heapMb(page);
          const parts = await page.evaluate(`['load', 'display', 'sync', 'draw'].map((n) => n + ' ' + Math.round(performance.getEntriesByName('meshscope:' + n)[0]?.duration ?? NaN) + ' ms').join(', ')`);
          const drawn = await page.evaluate(() => (window as unknown as { meshscope: { graph: { order: number; size: number } } }).meshscope.graph);
          process.stdout.write(
            `${label} graph-ready median ${ms(median(runs)!)} (runs ${runs.map((r) => r.toFixed(0)).join(', ')}; last: ${parts}); ${drawn.order} nodes, ${drawn.size} edges drawn; ` +
              `JS heap ${heap.toFixed(0)} MB; panning frames median ${median(frames)!.toFixed(1)} ms, p95 ${percentile(frames, 95).toFixed(1)} ms (${frames.length} frames)\n`,
          );
        }
        await page.close();
      } finally {
        await app.close();
        analyzer.close();
      }
    }
  } finally {
    await browser.close();
  }
}

await main();
