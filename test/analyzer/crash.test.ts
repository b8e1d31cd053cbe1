// The analyzer process killed with SIGKILL in the middle of ingesting from
// Kafka, then started again on the same data directory: no edge is lost
// (counts ≥ the unique records produced), no scope shrinks, and a graceful
// SIGTERM leaves every offset committed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { waitUntil } from '../harness/wait.ts';
import { tempMesh, type TempMesh } from './support/mesh.ts';
import { metric, spawnAnalyzer, type AnalyzerProcess } from './support/process.ts';

const TOPIC = 'crash-access-logs';
const GROUP = 'crash-analyzer';
// Caller workload → destination spelling; each pair is one service-level edge.
const PAIRS: Array<[string, string, string]> = [
  ['productpage-v1-abc.default', 'reviews:9080', 'productpage.default>reviews.default'],
  ['productpage-v1-abc.default', 'details:9080', 'productpage.default>details.default'],
  ['reviews-v1-abc.default', 'ratings:9080', 'reviews.default>ratings.default'],
  ['reviews-v2-abc.default', 'ratings.default.svc.cluster.local:9080', 'reviews.default>ratings.default'],
  ['frontend-0.shop', 'cart:7070', 'frontend.shop>cart.shop'],
  ['frontend-0.shop', 'reviews.default:9080', 'frontend.shop>reviews.default'],
  ['loadgen-0.shop', 'frontend:8080', 'loadgen.shop>frontend.shop'],
  ['cart-0.shop', 'ratings.default:9080', 'cart.shop>ratings.default'],
];
const BATCH = 5_000;
const TOTAL = 300_000;

describe('crash and restart (real broker, analyzer process)', () => {
  let broker: KafkaBroker;
  let producer: Producer;
  let mesh: TempMesh;
  const produced: Record<string, number> = {};
  let sent = 0;

  const args = () => ['--mesh', mesh.meshFile, '--data', mesh.dataDir, '--kafka', broker.brokers.join(','), '--topic', TOPIC, '--group', GROUP];
  async function produceBatch(): Promise<void> {
    const time = new Date().toISOString();
    const messages = [];
    for (let i = 0; i < BATCH; i++, sent++) {
      const [source, authority, edge] = PAIRS[sent % PAIRS.length];
      produced[edge] = (produced[edge] ?? 0) + 1;
      messages.push({ key: source, value: JSON.stringify({ time, source, authority, protocol: 'http', code: 200, durationMs: 2, requestId: `crash-${sent}` }) });
    }
    await producer.send({ topic: TOPIC, messages });
  }
  const scopes = async (a: AnalyzerProcess): Promise<Record<string, string[]>> =>
    Object.fromEntries((await a.api<any[]>('/api/v1/services')).map((s) => [s.id, s.scope]));
  const edgeCounts = async (a: AnalyzerProcess): Promise<Record<string, number>> => {
    const g = await a.api('/api/v1/graph');
    return Object.fromEntries(g.edges.map((e: any) => [`${e.source}>${e.target}`, e.attributes.count]));
  };

  before(async () => {
    mesh = tempMesh('crash');
    broker = await startKafka({ name: 'crash-kafka' });
    // Each partition is its own batch: several batch boundaries to land the kill between.
    await broker.createTopic(TOPIC, 4);
    producer = broker.client().producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await broker?.stop();
    mesh?.remove();
  });

  it('loses no edge and shrinks no scope across a SIGKILL', async (t) => {
    // A backlog the analyzer needs seconds to work through, so the kill lands mid-stream.
    while (sent < (TOTAL * 2) / 3) await produceBatch();
    const first = await spawnAnalyzer(args(), mesh.dir);
    let beforeKill: Record<string, string[]> = {};
    let ingestedAtKill = 0;
    try {
      await waitUntil(async () => {
        ingestedAtKill = metric(await first.api('/metrics'), 'meshscope_records_total');
        return ingestedAtKill >= 2 * BATCH;
      }, 'ingest to be under way', 60_000, { intervalMs: 10 });
      beforeKill = await scopes(first);
    } finally {
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;
    }
    t.diagnostic(`${(performance.now() / 1000).toFixed(1)} s: killed after ${ingestedAtKill} of ${sent} records were ingested`);
    assert.ok(ingestedAtKill < sent, 'the kill happened while records were still pending');
    assert.ok(Object.values(beforeKill).some((s) => s.length > 0), 'scopes had been learned before the kill');
    // More traffic while the analyzer is down.
    while (sent < TOTAL) await produceBatch();

    const second = await spawnAnalyzer(args(), mesh.dir);
    try {
      // The first answer after the restart already holds every scope learned before the crash.
      const restored = await scopes(second);
      for (const [svc, deps] of Object.entries(beforeKill)) {
        for (const d of deps) assert.ok(restored[svc]?.includes(d), `${svc} still sees ${d} after the restart (restored: ${restored[svc]})`);
      }
      await waitUntil(async () => {
        const counts = await edgeCounts(second);
        return Object.entries(produced).every(([edge, n]) => (counts[edge] ?? 0) >= n);
      }, `every produced record counted (${TOTAL} records)`, 120_000);
      const counts = await edgeCounts(second);
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      t.diagnostic(`${(performance.now() / 1000).toFixed(1)} s: edge counts after restart: ${JSON.stringify(counts)}; ${total - TOTAL} recounted`);
      assert.deepEqual(Object.keys(counts).sort(), Object.keys(produced).sort());
      for (const [edge, n] of Object.entries(produced)) assert.ok(counts[edge] >= n, `${edge}: ${counts[edge]} ≥ ${n}`);
      const final = await scopes(second);
      assert.deepEqual(final['productpage.default'], ['details.default', 'reviews.default']);
      assert.deepEqual(final['frontend.shop'], ['cart.shop', 'reviews.default']);

      // Graceful stop: the last batch is flushed and committed, nothing is left for a redelivery.
      second.proc.child.kill('SIGTERM');
      const exit = await second.proc.exited;
      assert.equal(exit.code, 0, second.proc.logTail(20));
      assert.match(second.proc.logTail(5), /analyzer stopped/);
    } finally {
      await second.proc.stop(5_000);
    }
    const admin = broker.client().admin();
    await admin.connect();
    try {
      const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const ends = await admin.fetchTopicOffsets(TOPIC);
      assert.ok(ends.filter((p) => Number(p.high) > 0).length >= 2, 'records spread over several partitions');
      for (const p of ends.filter((x) => Number(x.high) > 0)) {
        const c = committed[0].partitions.find((x) => x.partition === p.partition);
        assert.equal(c?.offset, p.high, `partition ${p.partition} committed to its end`);
      }
    } finally {
      await admin.disconnect();
    }
  });
});
