// Where a Kafka backlog drain spends the analyzer's event loop: the turns it
// holds (gaps of a 1 ms timer) split into the core's ingest slices, the
// flush's own share on this thread (gathering rows; the write is the store
// worker's) and the rest (kafkajs decoding a fetch, GC). Not a test: prints
// figures, one round per fetch size.
//   node --import tsx bench/analyzer-drain.ts [--records 300000] [--fetch-kib 2048,512,256,128]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Inventory, parseMesh } from '../contracts/index.ts';
import { Analyzer } from '../analyzer/index.ts';
import { startKafkaSource } from '../analyzer/sources/kafka/source.ts';
import type { IngestTarget } from '../analyzer/sources/ingest-target.ts';
import { startKafka } from '../test/harness/kafka.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { records: { type: 'string' }, 'fetch-kib': { type: 'string' } } });
const N = Number(values.records ?? 300_000);
const FETCH_KIB = (values['fetch-kib'] ?? '2048,512,256,128').split(',').map(Number);
const SERVICES = 50;
const TOPIC = 'drain';
const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// The event-loop test's records: compact, ~250 distinct edges.
const line = (i: number) => {
  const src = i % SERVICES;
  return `{"source":"s${src}-0.default","authority":"s${(src * 7 + (i % 5) * 11 + 1) % SERVICES}:8080","code":200}`;
};
const mesh = () =>
  new Inventory(
    parseMesh(
      JSON.stringify({ apiVersion: 'meshscope/v1', kind: 'Mesh', services: Array.from({ length: SERVICES }, (_, i) => ({ name: `s${i}`, ports: [{ port: 8080 }], workloads: [{ name: `s${i}-0`, address: `10.244.${i}.1` }] })) }),
      'mesh.yaml',
    ),
  );

type Span = [start: number, end: number];

// kafkajs's fetch responses are decoded in the connection (decode + parse, one turn): timed by wrapping them.
const decodes: Span[] = [];
const require = createRequire(import.meta.url);
for (let v = 4; v <= 11; v++) {
  const mod = require(`kafkajs/src/protocol/requests/fetch/v${v}/response.js`) as Record<'decode' | 'parse', (x: unknown) => Promise<unknown>>;
  for (const fn of ['decode', 'parse'] as const) {
    const inner = mod[fn];
    mod[fn] = async (x) => {
      const t = performance.now();
      try {
        return await inner(x);
      } finally {
        decodes.push([t, performance.now()]);
      }
    };
  }
}
const gcs: Span[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
}).observe({ entryTypes: ['gc'] });
const fmt = (xs: number[]) => (xs.length ? `p50 ${percentile(xs, 50).toFixed(1)}, p99 ${percentile(xs, 99).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} ms (${xs.length})` : 'none');

async function round(brokers: string[], kib: number, n: number, dir: string): Promise<void> {
  const analyzer = Analyzer.open({ inventory: mesh(), db: join(dir, `drain-${n}.db`) }).start();
  const spans = { ingest: [] as Span[], flush: [] as Span[] };
  decodes.length = 0;
  gcs.length = 0;
  const durable: number[] = [];
  const target: IngestTarget = {
    ingest: (batch, r) => {
      const t = performance.now();
      const res = analyzer.ingest(batch, r);
      spans.ingest.push([t, performance.now()]);
      return res;
    },
    flush: () => {
      const t = performance.now();
      const p = analyzer.flush();
      spans.flush.push([t, performance.now()]);
      return p.then(() => void durable.push(performance.now() - t));
    },
  };
  // The loop's turns: a 1 ms timer's late firings.
  const gaps: Span[] = [];
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    if (now - last > 3) gaps.push([last, now]);
    last = now;
    if (ticking) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const t0 = performance.now();
  const source = await startKafkaSource({ brokers, topic: TOPIC, group: `drain-${n}`, target, fetchMaxBytes: kib * 1024 });
  await source.consumed(N, AbortSignal.timeout(300_000));
  const seconds = (performance.now() - t0) / 1000;
  ticking = false;
  await source.stop();
  await analyzer.close();

  const inside = (g: Span, xs: Span[]) => xs.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, g[1]) - Math.max(a, g[0])), 0);
  const part = (xs: Span[]) => gaps.map((g) => inside(g, xs)).filter((x) => x > 0);
  const other = gaps.map((g) => g[1] - g[0] - inside(g, spans.ingest) - inside(g, spans.flush) - inside(g, decodes) - inside(g, gcs));
  const len = (xs: Span[]) => xs.map(([a, b]) => b - a);
  console.log(`round ${n + 1}${n === 0 ? ' (cold process)' : ''}, fetch ${kib} KiB: ${N} records in ${seconds.toFixed(2)} s (${spans.flush.length} flushes, ${decodes.length / 2} fetches decoded)`);
  console.log(`  loop held > 3 ms            ${fmt(len(gaps))}`);
  console.log(`    in ingest slices          ${fmt(part(spans.ingest))}`);
  console.log(`    in flush (this thread)    ${fmt(part(spans.flush))}`);
  console.log(`    in kafkajs decode         ${fmt(part(decodes))}`);
  console.log(`    in GC                     ${fmt(part(gcs))}`);
  console.log(`    elsewhere                 ${fmt(other.filter((x) => x > 0))}`);
  console.log(`  kafkajs decode + parse      ${fmt(len(decodes))}`);
  console.log(`  ingest slice                ${fmt(len(spans.ingest))}`);
  console.log(`  flush, on this thread       ${fmt(len(spans.flush))}`);
  console.log(`  flush, until durable        ${fmt(durable)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'meshscope-bench-drain-'));
say('starting a Kafka broker (test harness)');
const broker = await startKafka({ name: 'bench-drain' });
try {
  await broker.createTopic(TOPIC);
  const producer = broker.client().producer();
  await producer.connect();
  for (let i = 0; i < N; i += 5000) await producer.send({ topic: TOPIC, messages: Array.from({ length: Math.min(5000, N - i) }, (_, j) => ({ value: line(i + j) })) });
  await producer.disconnect();
  say(`produced ${N} records`);
  for (const [n, kib] of FETCH_KIB.entries()) await round(broker.brokers, kib, n, dir);
} finally {
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}
