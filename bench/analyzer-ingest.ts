// Analyzer ingest throughput on this machine. Not a test: prints figures.
//   node --import tsx bench/analyzer-ingest.ts [records]
// Stages, measured apart: JSON.parse alone; normalize (parse + shape); the hot
// path alone (resolve + dedupe + edge counters, on normalized records);
// in-process objects end to end; lines end to end with a SQLite flush; replay.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../contracts/index.ts';
import { Analyzer, VirtualClock, isRejection, normalize, type NormalizedRecord } from '../analyzer/index.ts';
import { Dedupe } from '../analyzer/core/dedupe.ts';
import { Expiry } from '../analyzer/core/expiry.ts';
import { DependencyGraph } from '../analyzer/core/graph.ts';
import { IngestPipeline } from '../analyzer/core/ingest.ts';
import { Outcomes } from '../analyzer/core/outcomes.ts';
import { Resolver } from '../analyzer/core/resolve.ts';
import { replay } from '../analyzer/replay/replay.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const FIXTURE = new URL('../fixtures/bookinfo/', import.meta.url).pathname;
const inv = loadInventory(join(FIXTURE, 'mesh.yaml'));
const workloads = [...inv.workloads()];
const services = inv.services.filter((s) => s.ports.length > 0);
const T0 = Date.UTC(2026, 0, 5);

function line(i: number): string {
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

function time(label: string, n: number, fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = Math.round(n / s);
  process.stdout.write(`${label.padEnd(52)} ${rate.toLocaleString('en-US').padStart(11)} records/s  (${n.toLocaleString('en-US')} in ${s.toFixed(2)} s)\n`);
  return rate;
}

process.stdout.write(`analyzer ingest bench: ${N.toLocaleString('en-US')} records (half native, half Envoy JSON), node ${process.version}\n`);
const lines = Array.from({ length: N }, (_, i) => line(i));
const bytes = lines.reduce((n, l) => n + l.length, 0);
process.stdout.write(`average line ${Math.round(bytes / N)} bytes\n`);

time('JSON.parse only', N, () => {
  for (const l of lines) JSON.parse(l);
});
const records: NormalizedRecord[] = [];
time('normalize (parse + shape)', N, () => {
  for (const l of lines) {
    const r = normalize(l);
    if (!isRejection(r)) records.push(r);
  }
});
const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);

const clock = new VirtualClock();
const graph = new DependencyGraph();
const ctx = {
  resolver: new Resolver(inv), graph, dedupe: new Dedupe(), outcomes: new Outcomes(),
  expiry: new Expiry(7 * 86_400_000, 86_400_000, 0), clock, maxLine: 1 << 20, onActivate: () => {}, onExpire: () => {},
};
const pipeline = new IngestPipeline(ctx);
const changed = new Set<string>();
time('hot path: resolve + dedupe + edge counters', records.length, () => {
  for (const r of records) pipeline.aggregate(r, 'bench', changed);
});
const hot = new IngestPipeline({ ...ctx, dedupe: new Dedupe(), outcomes: new Outcomes(), graph: new DependencyGraph() });
const noIds = records.map((r) => ({ ...r, requestId: undefined }));
time('hot path without request ids (no dedupe)', noIds.length, () => {
  for (const r of noIds) hot.aggregate(r, 'bench', changed);
});

const dir = mkdtempSync(join(tmpdir(), 'meshscope-bench-'));
try {
  const a = Analyzer.open({ inventory: inv, db: join(dir, 'objects.db'), clock: new VirtualClock() });
  time('in-process objects → graph + SQLite flush', N, () => {
    for (let i = 0; i < N; i += 5000) a.ingest(objects.slice(i, i + 5000).map((value) => ({ value, ref: 'bench' })));
    a.flush();
  });
  a.close();
  const b = Analyzer.open({ inventory: inv, db: join(dir, 'lines.db'), clock: new VirtualClock() });
  time('lines → parse → graph + SQLite flush', N, () => {
    for (let i = 0; i < N; i += 5000) b.ingest(lines.slice(i, i + 5000).map((value) => ({ value, ref: 'bench' })));
    b.flush();
  });
  b.close();

  const fixture = join(dir, 'fixture');
  mkdirSync(fixture);
  copyFileSync(join(FIXTURE, 'mesh.yaml'), join(fixture, 'mesh.yaml'));
  writeFileSync(join(fixture, 'traffic.jsonl'), `${lines.join('\n')}\n`);
  const start = process.hrtime.bigint();
  const result = await replay(fixture, { progress: () => {} });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${'replay DIR (file read, ingest, report)'.padEnd(52)} ${Math.round(result.report.records / s).toLocaleString('en-US').padStart(11)} records/s  (${result.report.records.toLocaleString('en-US')} in ${s.toFixed(2)} s)\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
