// The Kafka transport against a real broker: every record shape and every
// malformed kind in the same batches, scopes following the traffic, and
// redelivery (same request id, a group restarted without commits) counted once.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import type { Producer } from 'kafkajs';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { startKafkaSource } from '../../analyzer/sources/kafka/source.ts';
import { startKafka, type KafkaBroker } from '../harness/kafka.ts';
import { waitUntil } from '../harness/wait.ts';
import { FRONTEND, MESH, PAGE, envoyJson, fluentBit, native, tempMesh, vector, type TempMesh } from './support/mesh.ts';

const keyed = (rec: Record<string, unknown>) => ({ key: String(rec.source ?? ''), value: JSON.stringify(rec) });

describe('Kafka source (real broker)', () => {
  let broker: KafkaBroker;
  let producer: Producer;

  before(async () => {
    broker = await startKafka({ name: 'analyzer-kafka' });
    producer = broker.client().producer();
    await producer.connect();
  });
  after(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  describe('through the running analyzer', () => {
    let mesh: TempMesh;
    let run: RunningAnalyzer;
    const topic = 'access-logs-shapes';
    const api = (path: string) => fetch(`http://127.0.0.1:${run.httpPort}${path}`).then((r) => r.json());

    before(async () => {
      mesh = tempMesh('kafka');
      await broker.createTopic(topic, 2);
      run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir, kafka: broker.brokers, topic, group: 'shapes' });
    });
    after(async () => {
      await run?.close();
      mesh?.remove();
    });

    it('turns every shape into edges and scopes, and counts every bad kind', async () => {
      assert.deepEqual(await api('/api/v1/services/default/productpage').then((s) => s.scope), []);
      await producer.send({
        topic,
        messages: [
          keyed(native(PAGE, 'reviews:9080')),
          keyed(envoyJson('10.244.0.5', 'outbound|9080||details.default.svc.cluster.local')),
          keyed(envoyJson('10.244.1.7', '-', { authority: 'ratings.default:9080', x_meshscope_source: 'reviews-v1-abc.default' })),
          keyed(fluentBit('frontend-0', 'shop', 'cart.shop.svc.cluster.local:7070')),
          keyed(vector(native(FRONTEND, 'reviews.default.svc:9080'))),
          keyed(native(PAGE, 'typo-service:9080')),
          { key: 'x', value: '{"truncated": ' },
          { key: 'x', value: '"just a string"' },
          { key: 'x', value: JSON.stringify({ authority: 'reviews:9080', code: 200 }) },
          { key: 'x', value: JSON.stringify({ source: PAGE, code: 200 }) },
          { key: 'x', value: JSON.stringify({ source: PAGE, authority: 'reviews', code: 'two hundred' }) },
          { key: 'x', value: JSON.stringify({ hello: 'world' }) },
          { key: 'x', value: null },
        ],
      });
      await waitUntil(() => run.analyzer.stats().records >= 13, 'all 13 records ingested', 30_000);
      const stats = run.analyzer.stats();
      assert.equal(stats.accepted, 5);
      assert.equal(stats.unresolved, 1);
      assert.deepEqual(stats.rejectedByReason, {
        'not-json': 1,
        'not-object': 1,
        'no-source': 1,
        'no-destination': 1,
        'wrong-type': 1,
        'not-access-log': 1,
        'no-value': 1,
      });
      assert.deepEqual((await api('/api/v1/services/default/productpage')).scope, ['details.default', 'reviews.default']);
      assert.deepEqual((await api('/api/v1/services/default/reviews')).scope, ['ratings.default']);
      assert.deepEqual((await api('/api/v1/services/shop/frontend')).scope, ['cart.shop', 'reviews.default']);
      const rejected = await api('/api/v1/rejected?reason=not-json');
      assert.match(rejected[0].samples[0].ref, new RegExp(`^kafka:${topic}/\\d@\\d+$`));
      assert.deepEqual((await api('/api/v1/unresolved')).map((u: any) => u.key), ['typo-service']);

      await producer.send({ topic, messages: [keyed(native(PAGE, 'ratings:9080'))] });
      await waitUntil(async () => (await api('/api/v1/services/default/productpage')).scope.includes('ratings.default'), 'a new edge widens the scope', 30_000);
      // Counted once the batch is flushed and committed, just after its scope change is visible.
      await waitUntil(async () => /^meshscope_kafka_messages_total 14$/m.test(await fetch(`http://127.0.0.1:${run.httpPort}/metrics`).then((r) => r.text())), 'the transport counter', 10_000);
      assert.deepEqual(await fetch(`http://127.0.0.1:${run.httpPort}/readyz`).then((r) => r.json()), { status: 'ready' });
    });

    it("decodes in a thread of lower CPU priority than the event loop's", () => {
      // Linux keeps a nice value per thread: /proc/self/task/TID/stat, field 19 (after the command in parentheses).
      const nice = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16]);
      const niceness = readdirSync('/proc/self/task').map((tid) => [tid, nice(tid)] as const);
      assert.equal(nice(String(process.pid)), 0, 'the event loop keeps the process priority');
      assert.ok(
        niceness.some(([, n]) => n === 10),
        `a thread (the consumer's) runs at nice 10: ${niceness.map(([t, n]) => `${t}:${n}`).join(' ')}`,
      );
    });
  });

  it('counts a redelivered record once: same request id, and a group restarted without commits', async () => {
    const topic = 'access-logs-redelivery';
    const group = 'redelivery';
    await broker.createTopic(topic, 1);
    const analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    try {
      const first = native(PAGE, 'reviews:9080', { requestId: 'same-id-1' });
      const messages = [keyed(first), keyed(first), keyed(native(PAGE, 'details:9080')), keyed(native(PAGE, 'reviews:9080'))];
      await producer.send({ topic, messages });
      let source = await startKafkaSource({ brokers: broker.brokers, topic, group, target: analyzer });
      await assert.rejects(source.consumed(4, AbortSignal.abort(new Error('gave up'))), /gave up/);
      // Resolves on the batch's commit, no polling: everything it counts is already in the core.
      await source.consumed(4, AbortSignal.timeout(30_000));
      assert.equal(analyzer.stats().records, 4);
      assert.equal(source.stats().messages, 4);
      await source.consumed(1);
      await source.stop();
      const edgeCounts = () => Object.fromEntries(analyzer.edges({ kind: 'service' }).map((e) => [`${e.source}>${e.dest}`, e.count]));
      assert.deepEqual(edgeCounts(), { 'productpage.default>details.default': 1, 'productpage.default>reviews.default': 2 });
      assert.equal(analyzer.stats().duplicates, 1);

      // As if the consumer had died before committing: the group starts over from the beginning.
      const admin = broker.client().admin();
      await admin.connect();
      await admin.resetOffsets({ groupId: group, topic, earliest: true });
      await admin.disconnect();
      source = await startKafkaSource({ brokers: broker.brokers, topic, group, target: analyzer });
      await waitUntil(() => analyzer.stats().records === 8, 'the redelivery', 30_000);
      await source.stop();
      assert.deepEqual(edgeCounts(), { 'productpage.default>details.default': 1, 'productpage.default>reviews.default': 2 });
      assert.equal(analyzer.stats().duplicates, 5);
    } finally {
      await analyzer.close();
    }
  });

  it('commits a batch only once its flush is durable, and ingests the next batch meanwhile', async () => {
    const topic = 'access-logs-durable-commit';
    const group = 'durable-commit';
    await broker.createTopic(topic, 1);
    const analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    // The store's flushes, held until the test lets each one go (all of them once it ends).
    const held: Array<() => void> = [];
    let holding = true;
    const target = {
      ingest: analyzer.ingest.bind(analyzer),
      flush: () => (holding ? new Promise<void>((resolve, reject) => held.push(() => analyzer.flush().then(resolve, reject))) : analyzer.flush()),
    };
    const admin = broker.client().admin();
    await admin.connect();
    const committed = async () => (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions[0].offset;
    const source = await startKafkaSource({ brokers: broker.brokers, topic, group, target });
    try {
      await producer.send({ topic, messages: [keyed(native(PAGE, 'reviews:9080')), keyed(native(PAGE, 'details:9080')), keyed(native(PAGE, 'ratings:9080'))] });
      await waitUntil(() => held.length === 1, 'the first batch to ask for its flush', 30_000);
      assert.equal(analyzer.stats().records, 3);
      await producer.send({ topic, messages: [keyed(native(PAGE, 'reviews:9080')), keyed(native(PAGE, 'details:9080'))] });
      await waitUntil(() => analyzer.stats().records === 5, 'the second batch to be ingested while the first flush is pending', 30_000);
      assert.equal(held.length, 1, 'one flush in flight: the second waits for the first');
      assert.equal(await committed(), '-1', 'nothing committed before the flush is durable');
      assert.equal(source.stats().messages, 0);

      held[0]();
      await source.consumed(3, AbortSignal.timeout(30_000));
      assert.equal(await committed(), '3');
      await waitUntil(() => held.length === 2, 'the second batch to ask for its flush', 30_000);
      assert.equal(await committed(), '3', 'the second batch is not committed before its flush is durable');
      held[1]();
      await source.consumed(5, AbortSignal.timeout(30_000));
      assert.equal(await committed(), '5');
    } finally {
      holding = false;
      for (const release of held) release();
      await source.stop();
      await admin.disconnect();
      await analyzer.close();
    }
  });

  it('holds the consumer while the store fails: the batch in hand waits, nothing more is fetched, then all is committed', async () => {
    const topic = 'access-logs-failing-store';
    const group = 'failing-store';
    await broker.createTopic(topic, 1);
    const analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    let failing = true;
    let failures = 0;
    const failed = new EventTarget();
    const target = {
      ingest: analyzer.ingest.bind(analyzer),
      flush: () => {
        if (!failing) return analyzer.flush();
        failures++;
        failed.dispatchEvent(new Event('failure'));
        return Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
      },
    };
    // Each wait fails the test after 10 s instead of hanging: a consumer that stops flushing is a failure too.
    const nextFailure = () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no flush attempt within 10 s (${failures} so far)`)), 10_000);
        failed.addEventListener('failure', () => (clearTimeout(timer), resolve(undefined)), { once: true });
      });
    const logs: string[] = [];
    const source = await startKafkaSource({ brokers: broker.brokers, topic, group, target, log: (m) => logs.push(m) });
    try {
      let failure = nextFailure();
      await producer.send({ topic, messages: [keyed(native(PAGE, 'reviews:9080')), keyed(native(PAGE, 'details:9080')), keyed(native(PAGE, 'ratings:9080'))] });
      await failure;
      assert.equal(analyzer.stats().records, 3);
      await producer.send({ topic, messages: [keyed(native(PAGE, 'reviews:9080')), keyed(native(PAGE, 'details:9080'))] });
      await waitUntil(() => analyzer.stats().records === 5, 'the batch after the failing one to be taken in hand', 30_000);
      await producer.send({ topic, messages: [keyed(native(PAGE, 'ratings:9080'))] });
      // Three more retries (back-off 250, 500, 1000 ms) with a record waiting in the topic: none is fetched.
      const seen = failures;
      while (failures < seen + 3) {
        failure = nextFailure();
        await failure;
      }
      assert.equal(analyzer.stats().records, 5, 'nothing fetched past the batch in hand while the store fails');
      assert.equal(source.stats().messages, 0);
      assert.ok(logs.some((m) => /not committing 3 records yet, the store failed to write them: SQLITE_IOERR.*retrying in \d+ ms/.test(m)), logs.join('\n'));

      failing = false;
      await source.consumed(6, AbortSignal.timeout(30_000));
      assert.equal(analyzer.stats().records, 6);
      assert.deepEqual(source.stats(), { messages: 6, batches: 3 });
    } finally {
      failing = false;
      await source.stop();
      await analyzer.close();
    }
  });

  it('starts its consumer thread again when it dies, and carries on from the last commit', async () => {
    const topic = 'access-logs-thread-restart';
    const group = 'thread-restart';
    await broker.createTopic(topic, 1);
    const analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    const logs: string[] = [];
    const source = await startKafkaSource({ brokers: broker.brokers, topic, group, target: analyzer, log: (m) => logs.push(m) });
    try {
      await producer.send({ topic, messages: [keyed(native(PAGE, 'reviews:9080')), keyed(native(PAGE, 'details:9080'))] });
      await source.consumed(2, AbortSignal.timeout(30_000));
      const first = (source as unknown as { thread: Worker }).thread;
      await first.terminate();
      await waitUntil(() => logs.some((m) => /consumer thread exited \(code 1\); starting it again in \d+ ms/.test(m)), 'the restart to be told', 10_000);
      await producer.send({ topic, messages: [keyed(native(PAGE, 'ratings:9080'))] });
      await source.consumed(3, AbortSignal.timeout(60_000));
      assert.notEqual((source as unknown as { thread: Worker }).thread, first);
      assert.equal(analyzer.stats().records, 3, 'committed records are not fetched again');
    } finally {
      await source.stop();
      await analyzer.close();
    }
  });
});
