import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inventory, parseMesh, type AccessLogRecord } from '../../contracts/index.ts';
import { MESH, PAGE, T0, open } from './mesh.ts';

const at = (t = T0): string => new Date(t).toISOString();

test('in-process records: every spelling and caller form lands on one edge', async () => {
  const { analyzer } = open();
  const base = { time: at(), protocol: 'http', code: 200, durationMs: 4.25, reporter: 'gateway' };
  const records: AccessLogRecord[] = [
    { ...base, source: PAGE, authority: 'reviews:9080', upstreamCluster: 'outbound|9080||reviews.default.svc.cluster.local', requestId: 'a' },
    { ...base, source: PAGE, authority: 'REVIEWS.default.svc.cluster.local.' },
    { ...base, source: 'productpage.default', authority: '10.96.0.12:9080' },
    { ...base, sourceAddress: '10.244.0.5', authority: 'reviews.default.svc' },
    { time: at(), source: PAGE, authority: 'xds:///reviews:9080', protocol: 'grpc', reporter: 'xds' },
  ];
  assert.deepEqual(analyzer.ingestRecords(records), { accepted: 5, rejected: 0, unresolved: 0, duplicates: 0 });
  // The sink is the same path, and a redelivered batch counts once per request id.
  await analyzer.sink.send(records.slice(0, 1));
  assert.deepEqual(
    analyzer.edges().map((e) => [e.kind, e.source, e.dest, e.count]),
    [['service', 'productpage.default', 'reviews.default', 5], ['workload', PAGE, 'reviews.default', 4]],
  );
  assert.equal(analyzer.stats().duplicates, 1);
  assert.deepEqual(analyzer.edges({ kind: 'service' })[0].protocols, ['grpc', 'http']);
  await analyzer.close();
});

test('in-process records are checked like any other input: bad ones are rejected and counted', async () => {
  const { analyzer } = open();
  const bad = [
    { time: at(), source: PAGE, authority: 'reviews', code: 'ok' },
    { time: at(), source: 42, authority: 'reviews' },
    { time: 'yesterday', source: PAGE, authority: 'reviews' },
    { time: '2026-01-05T10:00:60.000Z', source: PAGE, authority: 'reviews' },
    { time: at(), source: PAGE },
    { time: at(), authority: 'reviews' },
    {},
    null,
    [at()],
  ] as unknown as AccessLogRecord[];
  const good: AccessLogRecord = { time: at(), source: PAGE, authority: 'ratings' };
  assert.deepEqual(analyzer.ingestRecords([...bad, good], 'gateway:0'), { accepted: 1, rejected: 9, unresolved: 0, duplicates: 0 });
  const reasons = Object.fromEntries(analyzer.rejected().map((r) => [r.reason, r.count]));
  assert.deepEqual(reasons, { 'wrong-type': 2, 'bad-time': 2, 'no-destination': 1, 'no-source': 1, 'not-access-log': 1, 'not-object': 2 });
  assert.ok(analyzer.rejected().every((r) => r.samples.every((s) => s.ref === 'gateway:0')));
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default']);
  assert.equal(analyzer.stats().records, 10);
  await analyzer.close();
});

test('a spelling resolved before an inventory change is resolved again after it', async () => {
  const { analyzer } = open();
  const rec = (t: number): AccessLogRecord => ({ time: at(t), source: PAGE, authority: 'payments.shop:8080' });
  assert.equal(analyzer.ingestRecords([rec(T0)]).unresolved, 1);
  const next = MESH.replace('  - name: cart\n', '  - name: payments\n').replace('cart-0', 'payments-0').replace('{port: 7070, protocol: grpc}', '{port: 8080}');
  analyzer.setInventory(new Inventory(parseMesh(next, 'next.yaml')));
  assert.equal(analyzer.ingestRecords([rec(T0 + 1)]).accepted, 1);
  assert.deepEqual(analyzer.scope('productpage.default'), ['payments.shop']);
  await analyzer.close();
});

test('a pod named like a service keeps its workload edge apart from that service edge', async () => {
  // Pod `api` of service web has the id api.default, like service api.
  const mesh = `apiVersion: meshscope/v1
kind: Mesh
services:
  - {name: web, ports: [{port: 80}], workloads: [{name: api, address: 10.1.0.1}]}
  - {name: api, ports: [{port: 80}], workloads: [{name: api-0, address: 10.1.0.2}]}
  - {name: db, ports: [{port: 5432}], workloads: [{name: db-0, address: 10.1.0.3}]}
`;
  const { analyzer } = open({ inventory: new Inventory(parseMesh(mesh, 'twins.yaml')) });
  analyzer.ingestRecords([
    { time: at(), source: 'api.default', authority: 'db:5432' },
    { time: at(), source: 'api-0.default', authority: 'db:5432' },
    { time: at(), source: 'api-0.default', authority: 'db' },
  ]);
  assert.deepEqual(
    analyzer.edges().map((e) => [e.kind, e.source, e.dest, e.count]),
    [
      ['service', 'api.default', 'db.default', 2],
      ['service', 'web.default', 'db.default', 1],
      ['workload', 'api-0.default', 'db.default', 2],
      ['workload', 'api.default', 'db.default', 1],
    ],
  );
  assert.equal(analyzer.graph.size, 4);
  await analyzer.close();
});

test('one request id seen on a call and on its reverse call counts both', async () => {
  const { analyzer } = open();
  const r = analyzer.ingestRecords([
    { time: at(), source: PAGE, authority: 'reviews', requestId: 'same' },
    { time: at(), source: 'reviews-v1-545db77b95-2xq7k.default', authority: 'productpage', requestId: 'same' },
    { time: at(), source: PAGE, authority: 'reviews', requestId: 'same' },
  ]);
  assert.deepEqual(r, { accepted: 2, rejected: 0, unresolved: 0, duplicates: 1 });
  await analyzer.close();
});
