import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRejection, normalize, type NormalizedRecord } from '../../analyzer/index.ts';
import { ENVOY_KEYS, hasEnvoyKey } from '../../analyzer/core/shapes/envoy.ts';
import { isoUtc } from '../../analyzer/core/shapes/fields.ts';
import { NATIVE_KEYS, NATIVE_WEAK_KEYS, hasNativeKey } from '../../analyzer/core/shapes/native.ts';
import { CART, PAGE, T0, call, inputs, open } from './mesh.ts';

const ok = (v: unknown): NormalizedRecord => {
  const r = normalize(v);
  assert.ok(!isRejection(r), `expected a record, got ${JSON.stringify(r)}`);
  return r;
};
const reason = (v: unknown) => {
  const r = normalize(v);
  assert.ok(isRejection(r), `expected a rejection for ${JSON.stringify(v)}`);
  return r.reason;
};

const ENVOY = {
  start_time: '2026-01-05T10:00:00.123Z', method: 'GET', path: '/reviews/0', protocol: 'HTTP/1.1',
  response_code: '503', duration: '17', request_id: 'rq-1', authority: 'reviews:9080',
  upstream_cluster: 'outbound|9080||reviews.default.svc.cluster.local', upstream_host: '10.244.1.7:9080',
  downstream_remote_address: '10.244.0.5:43210', x_forwarded_for: null, user_agent: '-',
};

test('native shape: workload, service or address as source', async () => {
  const r = ok(JSON.stringify(call(PAGE, 'reviews:9080', T0, { code: 201, durationMs: 3, requestId: 'a' })));
  assert.equal(r.timeMs, T0);
  assert.equal(r.source, PAGE);
  assert.equal(r.authority, 'reviews:9080');
  assert.deepEqual([r.code, r.durationMs, r.requestId, r.protocol], [201, 3, 'a', 'http']);
  assert.equal(ok({ time: '2026-01-05T10:00:00Z', sourceAddress: '10.244.0.5', authority: 'reviews' }).sourceAddress, '10.244.0.5');
  // A proxyless client's subscription, as the xDS server reports it.
  assert.equal(ok({ time: '2026-01-05T10:00:00Z', source: CART, authority: 'xds:///ratings:9080', reporter: 'xds', protocol: 'grpc' }).authority, 'ratings:9080');
});

test('Envoy/Istio JSON: numbers as strings, "-" and null as absent, header spellings', async () => {
  const r = ok(ENVOY);
  assert.deepEqual([r.code, r.durationMs, r.requestId, r.sourceAddress], [503, 17, 'rq-1', '10.244.0.5']);
  assert.deepEqual([r.clusterHost, r.clusterPort, r.upstreamHost], ['reviews.default.svc.cluster.local', 9080, '10.244.1.7']);
  assert.equal(r.timeMs, Date.parse(ENVOY.start_time));
  assert.equal(ok({ ...ENVOY, x_meshscope_source: PAGE }).source, PAGE);
  assert.equal(ok({ ...ENVOY, 'x-meshscope-source': PAGE }).source, PAGE);
  assert.equal(ok({ ...ENVOY, 'x-meshscope-source': '-' }).source, undefined);
  const tcp = ok({ start_time: ENVOY.start_time, upstream_cluster: 'outbound|6379||redis.default.svc.cluster.local', downstream_remote_address: '10.244.0.5:1', authority: null, response_code: 0 });
  assert.equal(tcp.protocol, 'tcp');
  assert.equal(ok({ ...ENVOY, protocol: 'HTTP/2', grpc_status: '0' }).protocol, 'grpc');
  assert.equal(ok({ ...ENVOY, upstream_cluster: 'PassthroughCluster' }).clusterHost, undefined);
  assert.equal(ok({ ...ENVOY, upstream_cluster: 'inbound|9080||' }).inbound, true);
});

test('Fluent Bit: merged fields with nested or flattened kubernetes pod fields', async () => {
  const nested = ok({ ...ENVOY, downstream_remote_address: '-', kubernetes: { pod_name: 'productpage-v1-7d4b9c8f6d-abcde', namespace_name: 'default' } });
  assert.equal(nested.pod, PAGE);
  assert.equal(nested.sourceAddress, undefined);
  const flat = ok({ ...ENVOY, downstream_remote_address: null, 'kubernetes.pod_name': 'cart-0', 'kubernetes.namespace_name': 'shop' });
  assert.equal(flat.pod, CART);
});

test('Vector: the record as a JSON string in message or log', async () => {
  const k = { pod_name: 'cart-0', pod_namespace: 'shop' };
  assert.equal(ok({ message: JSON.stringify(ENVOY), kubernetes: k, source_type: 'kubernetes_logs' }).pod, CART);
  assert.equal(ok({ log: JSON.stringify(call(PAGE, 'reviews')), stream: 'stdout' }).source, PAGE);
});

test("a shipper's own time does not hide the record it wraps (Fluent Bit's CRI parser)", () => {
  const cri = { time: '2026-01-05T10:00:00.5Z', stream: 'stdout', logtag: 'F', log: JSON.stringify({ ...ENVOY, downstream_remote_address: '-' }), kubernetes: { pod_name: 'cart-0', namespace_name: 'shop' } };
  const r = ok(cri);
  assert.deepEqual([r.pod, r.clusterHost, r.timeMs], [CART, 'reviews.default.svc.cluster.local', Date.parse(ENVOY.start_time)]);
  assert.equal(reason({ ...cri, log: 'GET /healthz 200' }), 'not-access-log');
  // A native record names its caller or callee itself: a `message` field beside them is just a field.
  assert.equal(ok({ ...call(PAGE, 'reviews'), message: '{"authority":"ratings"}' }).authority, 'reviews');
});

test('a UTF-8 byte-order mark before the JSON is ignored', async () => {
  assert.equal(ok(`\uFEFF${JSON.stringify(call(PAGE, 'reviews'))}`).source, PAGE);
});

test('every malformed kind is rejected with its reason', async () => {
  assert.equal(reason('{"time": "2026-01-05T10:00:00Z", "source": "x'), 'not-json');
  assert.equal(reason('[1,2]'), 'not-object');
  assert.equal(reason('42'), 'not-object');
  assert.equal(reason('null'), 'not-object');
  assert.equal(reason(`{"time":"2026-01-05T10:00:00Z","source":"a.default","authority":"${'x'.repeat(2 << 20)}"}`), 'too-large');
  assert.equal(reason({ hello: 'world' }), 'not-access-log');
  assert.equal(reason({ message: 'GET /healthz 200', kubernetes: { pod_name: 'a', pod_namespace: 'b' } }), 'not-access-log');
  assert.equal(reason({ message: '{"start_time": ' }), 'not-json');
  assert.equal(reason(call(PAGE, 'reviews', T0, { code: 'two hundred' })), 'wrong-type');
  assert.equal(reason(call(PAGE, 'reviews', T0, { durationMs: [1] })), 'wrong-type');
  assert.equal(reason({ ...ENVOY, response_code: { value: 200 } }), 'wrong-type');
  assert.equal(reason(call(42 as unknown as string, 'reviews')), 'wrong-type');
  assert.equal(reason({ ...call(PAGE, 'reviews'), time: 'yesterday' }), 'bad-time');
  assert.equal(reason({ time: '2026-01-05T10:00:00Z', source: PAGE }), 'no-destination');
  assert.equal(reason({ ...ENVOY, upstream_cluster: 'PassthroughCluster', authority: '-', upstream_host: '-' }), 'no-destination');
  assert.equal(reason({ start_time: ENVOY.start_time, authority: 'reviews', downstream_remote_address: '-' }), 'no-source');
  // An inbound log's pod is the callee, so it cannot name the caller.
  assert.equal(reason({ ...ENVOY, upstream_cluster: 'inbound|9080||', downstream_remote_address: '-', kubernetes: { pod_name: 'a', namespace_name: 'b' } }), 'no-source');
});

test('a batch keeps going past bad records, and counts and keeps every one', async () => {
  const { analyzer } = open();
  const r = analyzer.ingest(
    inputs(
      JSON.stringify(call(PAGE, 'reviews:9080')),
      'not json at all',
      '[]',
      JSON.stringify(call(PAGE, 'reviews', T0, { code: {} })),
      JSON.stringify({ time: '2026-01-05T10:00:00Z', source: PAGE }),
      'x'.repeat((1 << 20) + 1),
      JSON.stringify(call(PAGE, 'www.googleapis.com:443')),
      JSON.stringify(call('ghost-0.default', 'reviews')),
      { ...ENVOY, upstream_cluster: 'outbound|9080||ratings.default.svc.cluster.local' },
    ),
  );
  assert.deepEqual(r, { accepted: 2, rejected: 5, unresolved: 2, duplicates: 0 });
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default', 'reviews.default']);
  const rejected = Object.fromEntries(analyzer.rejected().map((e) => [e.reason, e]));
  assert.deepEqual(Object.keys(rejected).sort(), ['no-destination', 'not-json', 'not-object', 'too-large', 'wrong-type']);
  assert.equal(rejected['not-json'].samples[0].ref, 'test:2');
  assert.equal(rejected['not-json'].samples[0].raw, 'not json at all');
  assert.ok(rejected['too-large'].samples[0].raw.length <= 1001, 'a huge line is kept as a short sample');
  assert.deepEqual(
    analyzer.unresolved().map((u) => [u.kind, u.key, u.source]),
    [['source', 'ghost-0.default', ''], ['destination', 'www.googleapis.com', 'productpage.default']],
  );
  const s = analyzer.stats();
  assert.deepEqual([s.records, s.accepted, s.rejected, s.unresolved], [9, 2, 5, 2]);
  await analyzer.close();
});

test('a transport-rejected input is counted under the transport reason', async () => {
  const { analyzer } = open();
  const r = analyzer.ingest([{ value: '', ref: 'kafka:t/0@7', rejectReason: 'kafka message without a value' }, ...inputs(call(PAGE, 'reviews'))]);
  assert.deepEqual(r, { accepted: 1, rejected: 1, unresolved: 0, duplicates: 0 });
  assert.equal(analyzer.rejected()[0].reason, 'kafka message without a value');
  assert.equal(analyzer.rejected()[0].samples[0].ref, 'kafka:t/0@7');
  await analyzer.close();
});

test('shape detection reads exactly the keys each shape declares', async () => {
  for (const k of ENVOY_KEYS) assert.equal(hasEnvoyKey({ [k]: 'x' }), true, k);
  for (const k of NATIVE_KEYS) assert.equal(hasNativeKey({ [k]: 'x' }, false), true, k);
  for (const k of NATIVE_WEAK_KEYS) assert.deepEqual([hasNativeKey({ [k]: 'x' }, false), hasNativeKey({ [k]: 'x' }, true)], [false, true], k);
  const other = { method: 'GET', path: '/', code: 200, protocol: 'http', reporter: 'gateway', authority_: 'x' };
  assert.deepEqual([hasEnvoyKey(other), hasNativeKey(other, true)], [false, false]);
});

test('plain UTC times are read without Date.parse and always agree with it', async () => {
  let fast = 0;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  for (const y of [99, 100, 1970, 2024, 2026]) {
    for (let mo = 0; mo <= 13; mo++) {
      for (const d of [0, 1, 28, 29, 30, 31, 32]) {
        for (const [h, mi, s] of [[0, 0, 0], [23, 59, 59], [24, 0, 0], [12, 60, 0], [12, 0, 60]]) {
          for (const frac of ['', '.000', '.5', '.123', '.999']) {
            const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${frac}Z`;
            const mine = isoUtc(text);
            if (mine !== undefined) fast++;
            assert.equal(mine ?? Date.parse(text), Date.parse(text), text);
          }
        }
      }
    }
  }
  assert.ok(fast > 1000, `${fast} read without Date.parse`);
  for (const other of ['2026-01-05T10:00:00.000+01:00', '2026-01-05 10:00:00.000Z', '2026-01-05t10:00:00.000z', '+002026-01-05T10:00:00.000Z', '2026-01-05T1a:00:00.000Z']) {
    assert.equal(isoUtc(other), undefined, other);
  }
  // The same text again, as producers send it many times a millisecond, and a bad one after it.
  assert.equal(ok(call(PAGE, 'reviews', T0)).timeMs, T0);
  assert.equal(ok(call(PAGE, 'reviews', T0)).timeMs, T0);
  assert.equal(ok({ ...call(PAGE, 'reviews'), time: '2026-01-05T10:00:00.000+01:00' }).timeMs, T0 - 3_600_000);
  assert.equal(reason({ ...call(PAGE, 'reviews'), time: '2026-01-05T10:00:60.000Z' }), 'bad-time');
});
