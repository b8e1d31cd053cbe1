// Analyzer ingest throughput on this machine. Not a test: prints figures.
//   node --import tsx bench/analyzer-ingest.ts [records]
// The two figures of the issue come first:
//   in-process — AccessLogRecord objects as the lazy gateway and the xDS
//     server's observations hand them to analyzer.sink: batches of 500 (the
//     gateway reporter's), each in its own event-loop turn, the live 1 s flush
//     timer of Analyzer.start(), wall clock; median of 3 runs (target ≥ 500k/s);
//   end to end — NDJSON lines (half native, half Envoy) → parse → graph + SQLite.
// Then the stages apart: JSON.parse; normalize; the hot path; decoded objects; replay.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inventory, loadInventory, parseMesh, type AccessLogRecord } from '../contracts/index.ts';
import { Analyzer, VirtualClock, isRejection, normalize, type NormalizedRecord } from '../analyzer/index.ts';
import { Dedupe } from '../analyzer/core/dedupe.ts';
import { Expiry } from '../analyzer/core/expiry.ts';
import { DependencyGraph } from '../analyzer/core/graph.ts';
import { IngestPipeline } from '../analyzer/core/ingest.ts';
import { Outcomes } from '../analyzer/core/outcomes.ts';
import { Resolver } from '../analyzer/core/resolve.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const SINK_BATCH = 500;
const TARGET = 500_000;
const FIXTURE = new URL('../fixtures/bookinfo/', import.meta.url).pathname;
const T0 = Date.UTC(2026, 0, 5);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function report(label: string, n: number, seconds: number, note = ''): number {
  const rate = n / seconds;
  process.stdout.write(`${label.padEnd(52)} ${fmt(rate).padStart(11)} records/s  (${fmt(n)} in ${seconds.toFixed(2)} s${note})\n`);
  return rate;
}

function time(label: string, n: number, fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return report(label, n, Number(process.hrtime.bigint() - start) / 1e9);
}

async function timeAsync(label: string, n: number, fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return report(label, n, Number(process.hrtime.bigint() - start) / 1e9);
}

/** 4 namespaces × 10 services × 3 pods, named as in Online Boutique: enough callers and callees that edges, caches and flushes are not trivial. */
function benchMesh(): Inventory {
  const names = ['frontend', 'productcatalogservice', 'currencyservice', 'cartservice', 'recommendationservice', 'shippingservice', 'checkoutservice', 'adservice', 'paymentservice', 'emailservice'];
  const yaml = ['apiVersion: meshscope/v1', 'kind: Mesh', 'services:'];
  let ip = 0;
  for (const [n, ns] of ['default', 'shop', 'payments', 'catalog'].entries()) {
    for (const [s, name] of names.entries()) {
      yaml.push(`  - name: ${name}`, `    namespace: ${ns}`, `    clusterIP: 10.96.${n}.${s + 10}`, `    ports: [{port: ${8000 + s}}]`, '    workloads:');
      for (let p = 0; p < 3; p++, ip++) yaml.push(`      - {name: ${name}-7d4b9c8f6d-${'bcdfg'[p]}x2kq, address: 10.244.${ip >> 8}.${ip & 255}, labels: {app: ${name}}}`);
    }
  }
  return new Inventory(parseMesh(`${yaml.join('\n')}\n`, 'bench-mesh.yaml'));
}

/**
 * Records shaped as producers build them: the gateway's (fresh time, authority
 * and request id strings; the route's shared cluster name; the caller's id, or
 * its address when the gateway did not know it) and the xDS server's (`xds:///`
 * targets). Authorities in every spelling; 1% external hosts, 1% unknown
 * callers, 0.5% redelivered; times a few ms apart and slightly out of order.
 */
function inProcessRecords(inv: Inventory, n: number, t0: number): AccessLogRecord[] {
  const services = inv.services;
  const cluster = new Map(services.map((s) => [s, `outbound|${s.ports[0].port}||${s.fqdn}`]));
  // Strings that arrive from a socket are flat, not the ropes template literals build.
  const fresh = (s: string): string => Buffer.from(s).toString();
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const hex = (digits: number): string => Math.floor(rnd() * 16 ** digits).toString(16).padStart(digits, '0');
  const out: AccessLogRecord[] = [];
  let t = t0;
  for (let i = 0; out.length < n; i++) {
    if (rnd() < 0.3) t++;
    const from = pick(services);
    const w = pick(from.workloads);
    // Each caller has six dependencies.
    const to = services[(services.indexOf(from) * 7 + Math.floor(rnd() * 6) * 3 + 1) % services.length];
    const port = to.ports[0].port;
    const local = to.namespace === from.namespace;
    const time = fresh(new Date(t - Math.floor(rnd() * 3)).toISOString());
    if (rnd() < 0.05) {
      out.push({ time, source: w.id, authority: fresh(`xds:///${local ? to.name : to.id}:${port}`), protocol: 'grpc', reporter: 'xds' });
      continue;
    }
    const external = rnd() < 0.01;
    const spellings = [`${local ? to.name : to.id}:${port}`, `${to.fqdn}:${port}`, `${to.id}.svc`, `${to.clusterIP}:${port}`, local ? to.name.toUpperCase() : to.id];
    const rec: AccessLogRecord = {
      time,
      authority: fresh(external ? `api${Math.floor(rnd() * 5)}.example.com:443` : pick(spellings)),
      protocol: rnd() < 0.2 ? 'grpc' : 'http',
      code: rnd() < 0.02 ? 503 : 200,
      durationMs: Math.round(rnd() * 50_000) / 1000,
      requestId: fresh(`${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`),
      method: 'GET',
      path: '/api/items',
      bytesReceived: 0,
      bytesSent: 1234,
      reporter: 'gateway',
    };
    const k = rnd();
    if (k < 0.85) rec.source = k < 0.75 ? w.id : fresh(w.id);
    else rec.sourceAddress = k < 0.99 ? w.address : `10.9.9.${Math.floor(rnd() * 9)}`;
    if (!external) rec.upstreamCluster = cluster.get(to);
    out.push(rec);
    if (rnd() < 0.005) out.push(rec);
  }
  out.length = n;
  return out;
}

/** One live run: a fresh store, Analyzer.start() timers, every batch through analyzer.sink in its own turn. */
async function inProcessRun(run: number, inv: Inventory, records: readonly AccessLogRecord[], dir: string): Promise<number> {
  const a = Analyzer.open({ inventory: inv, db: join(dir, `in-process-${run}.db`) });
  await a.flush(); // the store's writer thread is up before the clock starts, as in a running analyzer
  let flushes = 0;
  const flush = a.flush.bind(a);
  a.flush = () => {
    flushes++;
    return flush();
  };
  a.start();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const start = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += SINK_BATCH) {
    await a.sink.send(records.slice(i, i + SINK_BATCH));
    await turn();
  }
  await a.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const s = a.stats();
  await a.close();
  if (s.records !== records.length || s.rejected !== 0) throw new Error(`in-process run ${run}: ${JSON.stringify(s)}`);
  const note = `; ${flushes} flushes; accepted ${fmt(s.accepted)}, unresolved ${fmt(s.unresolved)}, duplicates ${fmt(s.duplicates)}`;
  return report(`  run ${run}`, records.length, seconds, note);
}

function line(i: number, workloads: readonly { id: string; address: string }[], services: Inventory['services']): string {
  const w = workloads[i % workloads.length];
  const s = services[(i * 7) % services.length];
  const time = new Date(T0 + i).toISOString();
  const id = `${(i * 2654435761) >>> 0}-${i}`;
  if (i % 2 === 0) return JSON.stringify({ time, source: w.id, authority: `${s.name}:9080`, protocol: 'http', code: 200, durationMs: i % 50, requestId: id });
  return JSON.stringify({
    start_time: time, method: 'GET', path: '/reviews/0', protocol: 'HTTP/1.1', response_code: '200', response_flags: '-',
    bytes_received: 0, bytes_sent: 3138, duration: String(i % 80), upstream_service_time: '11', x_forwarded_for: null,
    user_agent: 'python-requests/2.31.0', request_id: id, authority: `${s.name}.default.svc.cluster.local:9080`,
    upstream_host: `${s.workloads[0].address}:9080`, upstream_cluster: `outbound|9080||${s.fqdn}`,
    downstream_remote_address: `${w.address}:${40000 + (i % 20000)}`, route_name: 'default',
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

process.stdout.write(`analyzer ingest bench: ${fmt(N)} records, node ${process.version}\n`);
const dir = mkdtempSync(join(tmpdir(), 'meshscope-bench-'));
try {
  const mesh = benchMesh();
  const records = inProcessRecords(mesh, N, Date.now() - N - 60_000);
  process.stdout.write(`\nin-process AccessLogRecord → analyzer.sink → graph + SQLite (${mesh.services.length} services, ${[...mesh.workloads()].length} pods; batches of ${SINK_BATCH}; flush every 1 s as Analyzer.start())\n`);
  const inProcess: number[] = [];
  for (let run = 1; run <= 3; run++) inProcess.push(await inProcessRun(run, mesh, records, dir));
  records.length = 0;

  const inv = loadInventory(join(FIXTURE, 'mesh.yaml'));
  const workloads = [...inv.workloads()];
  const services = inv.services.filter((s) => s.ports.length > 0);
  const lines = Array.from({ length: N }, (_, i) => line(i, workloads, services));
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  process.stdout.write(`\nNDJSON lines, half native, half Envoy (bookinfo mesh; average line ${Math.round(bytes / N)} bytes; batches of 5,000; one flush at the end)\n`);
  const b = Analyzer.open({ inventory: inv, db: join(dir, 'lines.db'), clock: new VirtualClock() });
  await b.flush();
  const endToEnd = await timeAsync('lines → parse → graph + SQLite flush', N, async () => {
    for (let i = 0; i < N; i += 5000) b.ingest(lines.slice(i, i + 5000).map((value) => ({ value, ref: 'bench' })));
    await b.flush();
  });
  await b.close();

  process.stdout.write('\nstages apart (same lines)\n');
  time('JSON.parse only', N, () => {
    for (const l of lines) JSON.parse(l);
  });
  const normalized: NormalizedRecord[] = [];
  time('normalize (parse + shape)', N, () => {
    for (const l of lines) {
      const r = normalize(l);
      if (!isRejection(r)) normalized.push(r);
    }
  });
  const clock = new VirtualClock();
  const ctx = {
    resolver: new Resolver(inv), graph: new DependencyGraph(), dedupe: new Dedupe(), outcomes: new Outcomes(),
    expiry: new Expiry(7 * 86_400_000, 86_400_000, 0), clock, maxLine: 1 << 20, onActivate: () => {}, onExpire: () => {},
  };
  const changed = new Set<string>();
  const pipeline = new IngestPipeline(ctx);
  time('hot path: resolve + dedupe + edge counters', normalized.length, () => {
    for (const r of normalized) pipeline.aggregate(r, 'bench', changed);
  });
  const noIds = normalized.map((r) => ({ ...r, requestId: undefined }));
  const hot = new IngestPipeline({ ...ctx, dedupe: new Dedupe(), outcomes: new Outcomes(), graph: new DependencyGraph() });
  time('hot path without request ids (no dedupe)', noIds.length, () => {
    for (const r of noIds) hot.aggregate(r, 'bench', changed);
  });
  const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const c = Analyzer.open({ inventory: inv, db: join(dir, 'objects.db'), clock: new VirtualClock() });
  await c.flush();
  await timeAsync('decoded objects (half Envoy) → graph + SQLite flush', N, async () => {
    for (let i = 0; i < N; i += 5000) c.ingest(objects.slice(i, i + 5000).map((value) => ({ value, ref: 'bench' })));
    await c.flush();
  });
  await c.close();

  const fixture = join(dir, 'fixture');
  mkdirSync(fixture);
  copyFileSync(join(FIXTURE, 'mesh.yaml'), join(fixture, 'mesh.yaml'));
  writeFileSync(join(fixture, 'traffic.jsonl'), `${lines.join('\n')}\n`);
  try {
    // Loaded here: replay pulls in the xDS server, which the headline figures do not need.
    const { replay } = await import('../analyzer/replay/replay.ts');
    const start = process.hrtime.bigint();
    const result = await replay(fixture, { progress: () => {} });
    report('replay DIR (file read, ingest, report)', result.report.records, Number(process.hrtime.bigint() - start) / 1e9);
  } catch (err) {
    process.stdout.write(`replay DIR: not measured: ${(err as Error).message.split('\n')[0]}\n`);
  }

  const mid = median(inProcess);
  process.stdout.write('\nsummary\n');
  process.stdout.write(`${'in-process records → graph + SQLite (median of 3)'.padEnd(52)} ${fmt(mid).padStart(11)} records/s  (runs ${inProcess.map(fmt).join(', ')}; target ≥ ${fmt(TARGET)}: ${mid >= TARGET ? 'met' : 'NOT met'})\n`);
  process.stdout.write(`${'end to end NDJSON lines → parse → graph + SQLite'.padEnd(52)} ${fmt(endToEnd).padStart(11)} records/s\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
