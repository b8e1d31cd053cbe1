// The graph page at 1k and 10k services (3 edges per service): not a test,
// prints figures.
//   node --import tsx bench/graph-page.ts [services ...]     (default: 1000 10000)
// Per size: the server side — full layout (namespace seed + ForceAtlas2 in its
// worker), GET /api/v1/graph, /api/v1/graph/view and /api/v1/services latency
// (first answer of a version, then cached: median of 5) and bytes (plain and
// gzip) — and in headless Chromium: time from navigation to
// `meshscope:graph-ready` (target ≤ 2 s at 10k) on the default view and on the
// full graph (median of 3 loads; target ≤ 2 s at 10k), JS heap after load,
// and frame times over one fixed mouse pan gesture (median, p95, count; target
// p95 ≤ 50 ms). The browser is headless Chromium with SwiftShader (WebGL on the
// CPU, printed as the renderer): a real GPU draws faster, so these are upper
// bounds for the drawing part. Run it on a quiet machine; it prints the load.
import { loadavg } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildApp } from '../analyzer/http/app.ts';
import { launchChromium } from '../test/analyzer/support/chromium.ts';
import { syntheticAnalyzer } from './graph-synthetic.ts';
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

/**
 * One fixed pan gesture: mouse down, PAN_MOVES moves around an ellipse sent at
 * a 60 Hz mouse's pace (not one CDP round trip after another, which would be
 * slower than a hand and let sigma redraw edges between moves), mouse up.
 */
const PAN_MOVES = 120;
const MOVE_EVERY_MS = 16;

/**
 * Pans with the mouse as a user would (one fixed gesture); returns the
 * intervals between animation frames meanwhile (main-thread frame times), how
 * many frames sigma drew and how long the gesture took.
 */
async function panFrames(page: Page): Promise<{ frames: number[]; drawn: number; ms: number }> {
  // A string, not a function: tsx's name helpers do not exist in the page.
  await page.evaluate(`(() => {
    const frames = (window.__frames = []);
    let last = performance.now();
    window.__recording = true;
    window.__drawn = 0;
    if (!window.__counting) meshscope.sigma.on('afterRender', () => window.__recording && window.__drawn++);
    window.__counting = true;
    function step(now) {
      frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(step);
    }
    requestAnimationFrame(step);
  })()`);
  const box = (await page.locator('#graph').boundingBox())!;
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  const t = performance.now();
  await page.mouse.move(x, y);
  await page.mouse.down();
  const sent: Array<Promise<void>> = [];
  for (let i = 1; i <= PAN_MOVES; i++) {
    sent.push(page.mouse.move(x + 150 * Math.sin(i / 20), y + 100 * Math.cos(i / 20) - 100));
    await new Promise((r) => setTimeout(r, MOVE_EVERY_MS));
  }
  await Promise.all(sent);
  await page.mouse.up();
  const ms = performance.now() - t;
  const { frames, drawn } = (await page.evaluate(`(window.__recording = false, { frames: window.__frames.slice(1), drawn: window.__drawn })`)) as { frames: number[]; drawn: number };
  return { frames, drawn, ms };
}

/** What draws the WebGL: SwiftShader (software, on the CPU) unless a GPU is there. */
const RENDERER = `(() => { const gl = document.createElement('canvas').getContext('webgl'); const i = gl && gl.getExtension('WEBGL_debug_renderer_info'); return gl ? gl.getParameter(i ? i.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : 'none'; })()`;

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
      const { analyzer, graph: g } = syntheticAnalyzer(n);
      const app = await buildApp({ analyzer });
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      process.stdout.write(`\n== ${n} services, ${g.edges} edges (mesh + ingest ${ms(performance.now() - t0)}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}) ==\n`);
      try {
        const tl = performance.now();
        await app.inject('/api/v1/graph/view');
        process.stdout.write(`layout (seed + ForceAtlas2 worker)   ${ms(performance.now() - tl)}\n`);
        for (const url of ['/api/v1/graph', '/api/v1/graph/view', '/api/v1/services']) process.stdout.write(`${await api(app, url)}\n`);
        await fetch(`${base}/`); // bundles the page once, as the first visitor would
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        if (n === (SIZES[0] ?? 1000)) {
          await page.goto(`${base}/`);
          process.stdout.write(`browser: headless Chromium ${browser.version()}, 1400×900, WebGL renderer: ${await page.evaluate(RENDERER)}\n`);
        }
        for (const [label, query] of [['default view', ''], ['full graph  ', '?overview=0']] as const) {
          const runs: number[] = [];
          for (let i = 0; i < 3; i++) runs.push(await ready(page, `${base}/${query}`));
          const pan = await panFrames(page);
          const heap = await heapMb(page);
          const parts = await page.evaluate(`['load', 'display', 'sync', 'draw'].map((n) => n + ' ' + Math.round(performance.getEntriesByName('meshscope:' + n)[0]?.duration ?? NaN) + ' ms').join(', ')`);
          const drawn = await page.evaluate(() => (window as unknown as { meshscope: { graph: { order: number; size: number } } }).meshscope.graph);
          process.stdout.write(
            `${label} graph-ready median ${ms(median(runs)!)} (runs ${runs.map((r) => r.toFixed(0)).join(', ')}; last: ${parts}); ${drawn.order} nodes, ${drawn.size} edges drawn; JS heap ${heap.toFixed(0)} MB\n` +
              `${' '.repeat(label.length)} pan (${PAN_MOVES} mouse moves every ${MOVE_EVERY_MS} ms, took ${ms(pan.ms)}): frame median ${median(pan.frames)!.toFixed(1)} ms, p95 ${percentile(pan.frames, 95).toFixed(1)} ms, max ${Math.max(...pan.frames).toFixed(0)} ms over ${pan.frames.length} frames, ${pan.drawn} drawn by sigma\n`,
          );
        }
        await page.close();
      } finally {
        await app.close();
        await analyzer.close();
      }
    }
  } finally {
    await browser.close();
  }
}

await main();
