// Reporting to an analyzer over HTTP (NDJSON) and to a real Kafka broker.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DEFAULT_ACCESS_LOG_TOPIC, type AccessLogRecord } from '../../contracts/access-log.ts';
import { HttpSink, KafkaSink, startGateway } from '../../lazy-gateway/index.ts';
import { startKafka } from '../harness/kafka.ts';
import { waitUntil } from '../harness/wait.ts';
import { h1Backend, h1Request, inventoryOf } from './helpers.ts';

test('HTTP sink: POST {URL}/api/v1/access-logs with NDJSON; retried while the analyzer answers 503', async () => {
  const received: AccessLogRecord[] = [];
  let failing = true;
  let posts = 0;
  const analyzer = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      posts++;
      assert.equal(req.method, 'POST');
      assert.equal(req.url, '/base/api/v1/access-logs');
      assert.equal(req.headers['content-type'], 'application/x-ndjson');
      if (failing) {
        res.writeHead(503).end('not yet');
        return;
      }
      for (const line of body.split('\n').filter(Boolean)) received.push(JSON.parse(line) as AccessLogRecord);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => analyzer.listen(0, '127.0.0.1', r));
  const backend = await h1Backend('127.0.0.111');
  const sink = new HttpSink(`http://127.0.0.1:${(analyzer.address() as AddressInfo).port}/base/`);
  const gateway = await startGateway({
    inventory: inventoryOf([{ name: 'cart', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'cart-1', address: backend.address }] }]),
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    sink,
    report: { retryMaxMs: 50, flushIntervalMs: 10 },
    log: () => undefined,
  });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await h1Request(gateway.port, { host: 'cart', path: `/c${i}` })).status, 200);
    await waitUntil(() => posts >= 2, 'the sink to retry after a 503');
    assert.equal(received.length, 0);
    failing = false;
    await waitUntil(() => received.length === 3, 'the records to reach the analyzer');
    assert.deepEqual(received.map((r) => r.path), ['/c0', '/c1', '/c2']);
    assert.equal(received[0].reporter, 'gateway');
    assert.equal(received[0].upstreamCluster, 'outbound|80||cart.default.svc.cluster.local');
  } finally {
    await gateway.close();
    await sink.close();
    await backend.close();
    analyzer.close();
  }
});

test('HTTP sink rejects a URL it cannot use, naming the flag', () => {
  assert.throws(() => new HttpSink('not a url'), /--analyzer not a url: not a URL/);
  assert.throws(() => new HttpSink('ftp://x'), /expected an http:\/\/ or https:\/\/ URL/);
});

test('Kafka sink: one JSON message per record on the topic, keyed by the caller', { timeout: 120_000 }, async () => {
  const kafka = await startKafka({ name: 'gateway-kafka' });
  const backend = await h1Backend('127.0.0.112');
  const sink = new KafkaSink({ brokers: kafka.brokers });
  const gateway = await startGateway({
    inventory: inventoryOf([
      { name: 'orders', namespace: 'shop', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'orders-1', address: backend.address }] },
      { name: 'checkout', namespace: 'shop', ports: [], workloads: [{ name: 'checkout-1', address: '127.0.0.113' }] },
    ]),
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    sink,
    log: () => undefined,
  });
  const consumer = kafka.client().consumer({ groupId: 'gateway-test' });
  try {
    for (let i = 0; i < 4; i++) {
      assert.equal((await h1Request(gateway.port, { host: 'orders', path: `/o${i}`, localAddress: '127.0.0.113' })).status, 200);
    }
    await waitUntil(() => gateway.reporter.stats().sent === 4, 'the gateway to deliver 4 records to Kafka', 30_000);
    await consumer.connect();
    await consumer.subscribe({ topic: DEFAULT_ACCESS_LOG_TOPIC, fromBeginning: true });
    const messages: Array<{ key: string; value: AccessLogRecord }> = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push({ key: String(message.key), value: JSON.parse(String(message.value)) as AccessLogRecord });
      },
    });
    await waitUntil(() => messages.length >= 4, 'the consumer to read 4 records', 30_000);
    assert.deepEqual(messages.map((m) => m.value.path), ['/o0', '/o1', '/o2', '/o3']);
    for (const m of messages) {
      assert.equal(m.key, 'checkout-1.shop');
      assert.equal(m.value.source, 'checkout-1.shop');
      assert.equal(m.value.authority, 'orders');
      assert.equal(m.value.reporter, 'gateway');
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await gateway.close();
    await sink.close();
    await backend.close();
    await kafka.stop();
  }
});
