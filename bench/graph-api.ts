// The graph API at 1k and 10k services (3 edges per service): not a test,
// prints figures. Targets (issue 11): /api/v1/graph and /api/v1/services
// answered in ≤ 200 ms at 10k, also the first time after a change.
//   node --import tsx bench/graph-api.ts [--runs N] [services ...]   (default: 1000 10000, 5 runs)
// Per size, over loopback HTTP to the last byte: the first answers after start
// (while the caches are warmed in the background; the view's waits for the
// layout), the first once the warm-up is done, and the cached one; the first answer after
// each kind of change — a new edge (ingest), a pin (scope change) — with gzip
// (as browsers ask) and plain, median and max over N changes; bytes plain and
// gzip; a field selection; build + gzip once every edge's counts moved (steady
// traffic), with and without the background renewal; config bytes: the first
// service detail (the worker was warmed at listen), a cold meter, and the
// first measurement after an inventory change.
import { request } from 'undici';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildApp } from '../analyzer/http/app.ts';
import { LiveBytesMeter } from '../analyzer/http/bytes/bytes-meter.ts';
import { parseFields } from '../analyzer/http/graph-fields.ts';
import { GraphJson } from '../analyzer/http/graph-json.ts';
import { PieceGzip } from '../analyzer/http/gzip-pieces.ts';
import { COUNTS_MS } from '../analyzer/http/routes/graph.ts';
import { parseArgs } from 'node:util';
import { serviceOf, syntheticAnalyzer } from './graph-synthetic.ts';
import { median } from './stats.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '5' }, help: { type: 'boolean' } } });
if (values.help) {
  process.stdout.write('usage: node --import tsx bench/graph-api.ts [--runs N] [services ...]   (default 1000 10000)\n');
  process.exit(0);
}
const RUNS = Number(values.runs);
const SIZES = positionals.map(Number).filter((n) => n > 0);
const ms = (n: number | undefined): string => `${(n ?? NaN).toFixed(0)} ms`.padStart(7);
const kb = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;

/** Time to the last byte of one answer over loopback HTTP (bodies are not decoded: a client would inflate as it reads). */
async function timed(base: string, url: string, gzip = true): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  const res = await request(`${base}${url}`, { headers: gzip ? { 'accept-encoding': 'gzip' } : {} });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${body.toString().slice(0, 200)}`);
  return { ms: performance.now() - t, bytes: body.length };
}

/** Waits until the app's live graph has taken the change (deltas flush on the next turn). */
async function settled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

// The view as the page asks it (rows); the object encoding's size is printed beside it.
const URLS = ['/api/v1/graph', '/api/v1/services', '/api/v1/graph/view?encoding=rows'] as const;

async function size(n: number): Promise<void> {
  const t0 = performance.now();
  const { analyzer, graph: g } = syntheticAnalyzer(n);
  const app = await buildApp({ analyzer });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`\n== ${n} services, ${g.edges} edges (mesh + ingest ${ms(performance.now() - t0).trim()}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} ==\n`);
  try {
    // Right after start the caches are being warmed in the background (analyzer/http/warm.ts): each first
    // answer takes what is done and builds the rest; /healthz is not held up meanwhile.
    const warmLoop = monitorEventLoopDelay({ resolution: 5 });
    warmLoop.enable();
    const health = await timed(base, '/healthz');
    const firsts: string[] = [`/healthz ${ms(health.ms).trim()}`];
    const startup: Record<string, { ms: number; bytes: number }> = {};
    for (const url of URLS) {
      startup[url] = await timed(base, url);
      firsts.push(`${url} ${ms(startup[url].ms).trim()}`);
    }
    process.stdout.write(`first after start (in turn, warm-up under way): ${firsts.join(', ')}\n`);
    await app.warmer.start();
    warmLoop.disable();
    process.stdout.write(`warm-up: ${ms(app.warmer.progress.ms).trim()} in the background after listen\n`);
    // Another start, the first requests arriving once the warm-up is done (a page opened seconds after start).
    const again = await buildApp({ analyzer });
    try {
      const base2 = await again.listen({ port: 0, host: '127.0.0.1' });
      const idleLoop = monitorEventLoopDelay({ resolution: 5 });
      idleLoop.enable();
      await again.warmer.start();
      idleLoop.disable();
      process.stdout.write(`event loop blocked at most ${ms(idleLoop.max / 1e6).trim()} during a warm-up no request interrupts (p99 ${ms(idleLoop.percentile(99) / 1e6).trim()})\n`);
      const warmed: string[] = [];
      for (const url of URLS) warmed.push(`${url} ${ms((await timed(base2, url)).ms).trim()}`);
      process.stdout.write(`first after start, warm-up done (${ms(again.warmer.progress.ms).trim()}): ${warmed.join(', ')}\n`);
    } finally {
      await again.close();
    }
    for (const url of URLS) {
      const cached: number[] = [];
      for (let i = 0; i < RUNS; i++) cached.push((await timed(base, url)).ms);
      const plain = await timed(base, url, false);
      process.stdout.write(`${url.padEnd(18)} cached median ${ms(median(cached))}; ${kb(plain.bytes)} plain, ${kb(startup[url].bytes)} gzip\n`);
    }
    const objects = [await timed(base, '/api/v1/graph/view'), await timed(base, '/api/v1/graph/view', false)];
    process.stdout.write(`/api/v1/graph/view (objects) first ${ms(objects[0].ms)}; ${kb(objects[1].bytes)} plain, ${kb(objects[0].bytes)} gzip\n`);
    // Changes: a new edge between two services that never called each other, then a pin.
    const after: Record<string, Record<string, number[]>> = {};
    const note = (change: string, url: string, gz: boolean, v: number) => ((after[`${change} ${gz ? 'gzip ' : 'plain'}`] ??= {})[url] ??= []).push(v);
    for (let i = 0; i < RUNS; i++) {
      for (const gz of [true, false]) {
        const a = serviceOf((7 * i + (gz ? 0 : 3)) % n);
        const b = serviceOf((n - 1 - 11 * i - (gz ? 0 : 5)) % n);
        analyzer.ingestRecords([{ time: new Date().toISOString(), source: `${a.name}-0.${a.namespace}`, authority: `${b.name}.${b.namespace}:8080`, protocol: 'http', code: 200, reporter: 'envoy' }]);
        await settled();
        for (const url of URLS) note('new edge', url, gz, (await timed(base, url, gz)).ms);
        const p = serviceOf((13 * i + (gz ? 1 : 2)) % n);
        const q = serviceOf((17 * i + (gz ? 40 : 60)) % n);
        await analyzer.pin(`${p.name}.${p.namespace}`, `${q.name}.${q.namespace}`);
        await settled();
        for (const url of URLS) note('pin     ', url, gz, (await timed(base, url, gz)).ms);
      }
    }
    for (const [change, byUrl] of Object.entries(after)) {
      process.stdout.write(`first after ${change}: ${URLS.map((u) => `${u} median ${ms(median(byUrl[u]))} (max ${ms(Math.max(...byUrl[u]))})`).join(', ')}\n`);
    }
    const fields = '/api/v1/graph?fields=nodes.key,edges.source,edges.target';
    const f = await timed(base, fields);
    process.stdout.write(`${fields}: ${ms(f.ms)} first, ${kb(f.bytes)} gzip, ${kb((await timed(base, fields, false)).bytes)} plain\n`);
    // Under steady traffic every edge's counts move; once COUNTS_MS has passed the next answer re-serializes
    // the ones the background renewal (routes/graph.ts) has not renewed yet. Timed on the builder itself
    // (the bench cannot wait 30 s per run): build + gzip of one answer, with renewal done and without.
    for (const renewal of [true, false]) {
      const steady: number[] = [];
      const renewMs: number[] = [];
      const builder = new GraphJson(analyzer, parseFields(undefined), 0);
      const gzipper = new PieceGzip();
      gzipper.gzip(builder.build({}).pieces);
      for (let i = 0; i < Math.min(RUNS, 3); i++) {
        analyzer.ingestRecords(g.records.map((r) => ({ ...r, time: new Date().toISOString() })));
        const tr = performance.now();
        if (renewal) builder.renew(60_000);
        renewMs.push(performance.now() - tr);
        const t = performance.now();
        gzipper.gzip(builder.build({}).pieces);
        steady.push(performance.now() - t);
      }
      process.stdout.write(
        `/api/v1/graph after every edge's counts moved (steady traffic, once per ${COUNTS_MS / 1000} s), ${renewal ? `renewed beforehand (${ms(median(renewMs)).trim()} in slices)` : 'not renewed'}: build + gzip median ${ms(median(steady))}\n`,
      );
    }
    // Config bytes: the first detail answer measures the full-mesh size too. The app listens, as the
    // analyzer does, so its worker was handed the mesh at start; a cold meter shows the whole cost.
    const detail = (i: number) => {
      const s = serviceOf(i);
      return `/api/v1/services/${s.namespace}/${s.name}`;
    };
    const first = await timed(base, detail(0));
    const next: number[] = [];
    for (let i = 1; i <= RUNS; i++) next.push((await timed(base, detail(i * 37 % n))).ms);
    process.stdout.write(`config bytes (service detail, worker warmed at listen): first ${ms(first.ms)}, next services median ${ms(median(next))}\n`);
    let inventory = g.inventory;
    const cold = new LiveBytesMeter(() => inventory);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const tc = performance.now();
    const probe = inventory.services[1];
    await cold.measure(probe.workloads[0].id, analyzer.scope(probe.id));
    const coldMs = performance.now() - tc;
    loop.disable();
    process.stdout.write(`config bytes, cold meter (worker boot + encoding the mesh): ${ms(coldMs)}; event loop blocked at most ${ms(loop.max / 1e6)} meanwhile\n`);
    // A new inventory version (a pod more, as Kubernetes sends them): only that service is encoded again.
    const changed: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = inventory.services[i + 2];
      const pod = { ...s.workloads[0], id: `extra-${i}.${s.namespace}`, name: `extra-${i}`, address: `10.255.0.${i + 1}` };
      inventory = inventory.apply({ services: [{ ...s, workloads: [...s.workloads, pod] }] });
      const t = performance.now();
      await cold.measure(probe.workloads[0].id, analyzer.scope(probe.id));
      changed.push(performance.now() - t);
    }
    await cold.close();
    process.stdout.write(`config bytes, first after an inventory change (one service got a pod): median ${ms(median(changed))}\n`);
  } finally {
    await app.close();
    await analyzer.close();
  }
}

for (const n of SIZES.length ? SIZES : [1000, 10_000]) await size(n);
process.stdout.write(`load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
