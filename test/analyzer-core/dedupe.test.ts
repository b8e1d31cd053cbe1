import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE, T0, call, inputs, open } from './mesh.ts';

test('a redelivered record with a request id counts once; other hops of the same request count', async () => {
  const { analyzer } = open();
  const line = JSON.stringify(call(PAGE, 'reviews', T0, { requestId: 'req-1' }));
  const first = analyzer.ingest(inputs(line, line));
  assert.deepEqual(first, { accepted: 1, rejected: 0, unresolved: 0, duplicates: 1 });
  // Redelivered in a later batch (a Kafka rebalance), and as a different shape of the same record.
  const again = analyzer.ingest(inputs(line, { start_time: new Date(T0).toISOString(), request_id: 'req-1', authority: 'reviews.default:9080', downstream_remote_address: '10.244.0.5:1234', response_code: 200 }));
  assert.equal(again.duplicates, 2);
  // The same x-request-id on the next hop (apps propagate it) and on a second call at another time.
  const hops = analyzer.ingest(inputs(call('reviews-v2-7bf8c9648f-xxq9m.default', 'ratings', T0 + 2, { requestId: 'req-1' }), call(PAGE, 'reviews', T0 + 5, { requestId: 'req-1' })));
  assert.equal(hops.accepted, 2);
  assert.equal(analyzer.edges({ kind: 'service' }).find((e) => e.dest === 'reviews.default')?.count, 2);
  // Records without an id are never merged.
  const plain = JSON.stringify(call(PAGE, 'reviews', T0 + 9));
  assert.equal(analyzer.ingest(inputs(plain, plain)).accepted, 2);
  assert.equal(analyzer.stats().duplicates, 3);
  await analyzer.close();
});

test('unresolved records are deduplicated too', async () => {
  const { analyzer } = open();
  const line = JSON.stringify(call(PAGE, 'www.googleapis.com', T0, { requestId: 'r' }));
  assert.deepEqual(analyzer.ingest(inputs(line, line)), { accepted: 0, rejected: 0, unresolved: 1, duplicates: 1 });
  assert.equal(analyzer.unresolved()[0].count, 1);
  await analyzer.close();
});

test('the dedupe store is bounded by time: an id is kept at least the window, at most twice it', async () => {
  const { analyzer, clock } = open({ dedupeWindowMs: 60_000 });
  const line = JSON.stringify(call(PAGE, 'reviews', T0, { requestId: 'req-9' }));
  analyzer.ingest(inputs(line));
  clock.advance(59_000);
  assert.equal(analyzer.ingest(inputs(line)).duplicates, 1);
  clock.advance(62_000);
  // Two windows later the id is forgotten: a very late redelivery counts again.
  assert.equal(analyzer.ingest(inputs(line)).accepted, 1);
  await analyzer.close();
});

test('the dedupe store is bounded by size', async () => {
  const { analyzer } = open({ dedupeMaxEntries: 1000 });
  const recs = Array.from({ length: 5000 }, (_, i) => call(PAGE, 'reviews', T0, { requestId: `id-${i}` }));
  assert.equal(analyzer.ingest(inputs(...recs)).accepted, 5000);
  assert.ok(analyzer.stats().dedupeEntries <= 1000, `${analyzer.stats().dedupeEntries} entries`);
  // The latest ids are still remembered.
  assert.equal(analyzer.ingest(inputs(recs[4999])).duplicates, 1);
  await analyzer.close();
});
