import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CART, PAGE, T0, call, inputs, open } from './mesh.ts';

test('every spelling of a destination names the same service; short names use the caller namespace', async () => {
  const { analyzer } = open();
  const spellings = ['reviews', 'reviews:9080', 'reviews.default', 'reviews.default:9080', 'reviews.default.svc', 'reviews.default.svc:9080', 'reviews.default.svc.cluster.local',
    'reviews.default.svc.cluster.local:9080', 'REVIEWS.default.svc.cluster.local.', '10.96.0.12', '10.96.0.12:9080', '10.244.1.8:9080'];
  const r = analyzer.ingest(inputs(...spellings.map((a) => call(PAGE, a))));
  assert.equal(r.accepted, spellings.length);
  assert.deepEqual(analyzer.edges({ kind: 'service' }).map((e) => [e.source, e.dest, e.count]), [['productpage.default', 'reviews.default', spellings.length]]);

  analyzer.ingest(inputs(call(CART, 'ratings:9080'), call(PAGE, 'ratings'), call(CART, 'ratings.default')));
  assert.deepEqual(analyzer.scope('cart.shop'), ['ratings.default', 'ratings.shop']);
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default', 'reviews.default']);
  await analyzer.close();
});

test('destination from the outbound cluster first, then authority, server name, upstream host', async () => {
  const { analyzer } = open();
  const base = { start_time: new Date(T0).toISOString(), downstream_remote_address: '10.244.0.5:5000', response_code: 200 };
  analyzer.ingest(
    inputs(
      { ...base, upstream_cluster: 'outbound|7070||cart.shop.svc.cluster.local', authority: 'reviews:9080' },
      { ...base, upstream_cluster: 'meshscope-lazy-gateway', authority: 'ratings:9080' },
      { ...base, upstream_cluster: 'PassthroughCluster', authority: '-', requested_server_name: 'www.googleapis.com', upstream_host: '142.250.74.1:443' },
      { ...base, upstream_cluster: 'PassthroughCluster', authority: '-', upstream_host: '142.250.74.1:443' },
      { ...base, upstream_cluster: 'PassthroughCluster', authority: null, upstream_host: '10.244.1.7:9080' },
    ),
  );
  assert.deepEqual(analyzer.scope('productpage.default'), ['cart.shop', 'ratings.default', 'reviews.default']);
  assert.deepEqual(analyzer.unresolved().map((u) => u.key).sort(), ['142.250.74.1', 'www.googleapis.com']);
  await analyzer.close();
});

test('source: header / native source, then the shipper pod, then the caller IP', async () => {
  const { analyzer } = open();
  const envoy = { start_time: new Date(T0).toISOString(), response_code: 200 };
  analyzer.ingest(
    inputs(
      // The gateway's log: its peer is the gateway side; the header names the caller.
      { ...envoy, authority: 'ratings', downstream_remote_address: '10.9.9.9:1', 'x-meshscope-source': CART },
      // Header naming a service rather than a pod.
      { ...envoy, authority: 'ratings', downstream_remote_address: '10.9.9.9:1', x_meshscope_source: 'loadgen.default' },
      // An Istio node id works too.
      { ...envoy, authority: 'cart.shop', x_meshscope_source: 'sidecar~10.244.1.7~reviews-v1-545db77b95-2xq7k.default~default.svc.cluster.local' },
      // Pod fields beat the IP.
      { ...envoy, authority: 'reviews', downstream_remote_address: '10.244.3.3:1', kubernetes: { pod_name: 'ratings-v1-0', namespace_name: 'default' } },
      // A pod the inventory lacks (the gateway's own): falls through to the IP.
      { ...envoy, authority: 'productpage', downstream_remote_address: '10.244.3.3:1', kubernetes: { pod_name: 'lazy-gateway-0', namespace_name: 'meshscope' } },
      // Inbound log: the pod is the callee; the caller is the peer address.
      { ...envoy, authority: 'ratings:9080', upstream_cluster: 'inbound|9080||', downstream_remote_address: '10.244.0.5:1', kubernetes: { pod_name: 'ratings-v1-0', namespace_name: 'default' } },
    ),
  );
  assert.deepEqual(Object.fromEntries([...analyzer.scopes()].filter(([, d]) => d.length > 0)), {
    'productpage.default': ['ratings.default'],
    'reviews.default': ['cart.shop'],
    'ratings.default': ['reviews.default'],
    'cart.shop': ['ratings.shop'],
    'loadgen.default': ['productpage.default', 'ratings.default'],
  } as Record<string, string[]>);
  await analyzer.close();
});

test('workload-level edges keep which pod called (reviews-v1 never calls ratings)', async () => {
  const { analyzer } = open();
  analyzer.ingest(inputs(call('reviews-v2-7bf8c9648f-xxq9m.default', 'ratings'), call('reviews.default', 'ratings')));
  assert.deepEqual(analyzer.edges({ kind: 'workload' }).map((e) => e.source), ['reviews-v2-7bf8c9648f-xxq9m.default']);
  assert.equal(analyzer.edges({ kind: 'service' })[0].count, 2);
  assert.ok(analyzer.graph.hasEdge('workload:reviews-v2-7bf8c9648f-xxq9m.default', 'service:ratings.default'));
  assert.ok(!analyzer.graph.hasEdge('workload:reviews-v1-545db77b95-2xq7k.default', 'service:ratings.default'));
  await analyzer.close();
});

test('external and unknown hosts are counted per host and never scoped', async () => {
  const { analyzer } = open();
  analyzer.ingest(inputs(call(PAGE, 'www.googleapis.com:443'), call(PAGE, 'www.googleapis.com'), call(PAGE, 'reveiws:9080'), call(PAGE, 'reviews:9080')));
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  assert.deepEqual(analyzer.unresolved().map((u) => [u.key, u.count]), [['www.googleapis.com', 2], ['reveiws', 1]]);
  assert.equal(analyzer.stats().unresolved, 3);
  await analyzer.close();
});

test('edge summary: counts, 5xx, first/last seen, protocols, latency quantiles', async () => {
  const { analyzer } = open();
  const recs = [];
  for (let i = 1; i <= 100; i++) recs.push(call(PAGE, 'reviews', T0 + i * 1000, { durationMs: i, code: i % 10 === 0 ? 503 : 200, protocol: i === 50 ? 'HTTP/2' : 'http' }));
  analyzer.ingest(inputs(...recs));
  const [e] = analyzer.edges({ kind: 'service' });
  assert.equal(e.count, 100);
  assert.equal(e.errors, 10);
  assert.equal(e.firstSeen, new Date(T0 + 1000).toISOString());
  assert.equal(e.lastSeen, new Date(T0 + 100_000).toISOString());
  assert.deepEqual(e.protocols, ['http', 'http2']);
  // Log buckets of 2^(1/4): each quantile within ~10% of the exact one.
  assert.ok(Math.abs(e.p50Ms! - 50) / 50 < 0.1, `p50 ${e.p50Ms}`);
  assert.ok(Math.abs(e.p99Ms! - 99) / 99 < 0.1, `p99 ${e.p99Ms}`);
  await analyzer.close();
});
