// What the graph page reads: /api/v1/graph/view (positions kept as edges
// arrive, gateway vs direct, pins, TTLs), the SSE deltas, answers cached per
// graph version but never stale, gzip, and /api/v1/services in pages.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Inventory, parseMesh, type AccessLogRecord } from '../../contracts/index.ts';
import { Analyzer, VirtualClock } from '../../analyzer/index.ts';
import { buildApp } from '../../analyzer/http/app.ts';
import { parseFields, VALID_FIELDS } from '../../analyzer/http/graph-fields.ts';
import { serviceGraphExport, type GraphFilter } from '../../analyzer/http/graph-view.ts';
import { COUNTS_MS } from '../../analyzer/http/routes/graph.ts';
import { serviceOf, syntheticGraph } from '../../bench/graph-synthetic.ts';
import { measureProxyBytes } from '../../xds-server/index.ts';
import { PieceGzip } from '../../analyzer/http/gzip-pieces.ts';
import { GraphJson } from '../../analyzer/http/graph-json.ts';
import type { GraphDelta, GraphView } from '../../analyzer/http/live-graph.ts';
import { decodeView, type ViewRows } from '../../analyzer/http/view-rows.ts';
import { placeNew, seedPositions } from '../../analyzer/http/layout/seed.ts';
import { FRONTEND, MESH, PAGE, native } from './support/mesh.ts';

describe('graph API for the page', () => {
  let analyzer: Analyzer;
  let app: FastifyInstance;
  let base: string;

  const ingest = async (...records: Array<Record<string, unknown>>) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/access-logs', payload: records.map((r) => JSON.stringify(r)).join('\n') });
    assert.equal(res.json().accepted, records.length, `${res.body} ${JSON.stringify(analyzer.unresolved())}`);
  };
  const view = async () => (await app.inject('/api/v1/graph/view')).json() as GraphView;
  /** Waits for a version past `v` (deltas are flushed on the next turn of the event loop). */
  const past = async (v: number) => {
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setImmediate(r))) if ((await view()).version > v) return view();
    throw new Error(`graph version stayed at ${v}`);
  };

  before(async () => {
    analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    app = await buildApp({ analyzer });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    await ingest(native(PAGE, 'reviews:9080', { reporter: 'envoy' }), native(PAGE, 'details:9080', { reporter: 'gateway', code: 503 }));
  });
  after(async () => {
    await app.close();
    await analyzer.close();
  });

  it('gives every service a position and every edge its route, errors, TTL and pin', async () => {
    const v = await view();
    assert.deepEqual(v.nodes.map((n) => n.id).sort(), ['cart.shop', 'details.default', 'frontend.shop', 'loadgen.shop', 'productpage.default', 'ratings.default', 'reviews.default']);
    for (const n of v.nodes) assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), n.id);
    assert.equal(new Set(v.nodes.map((n) => `${n.x},${n.y}`)).size, v.nodes.length, 'no two services on one spot');
    const details = v.edges.find((e) => e.key === 'productpage.default>details.default')!;
    assert.ok(details.viaGateway > 0 && details.direct === 0, 'only the gateway carried it');
    assert.equal(details.errPct, 100);
    assert.deepEqual(details.reporters, ['gateway']);
    const reviews = v.edges.find((e) => e.key === 'productpage.default>reviews.default')!;
    assert.ok(reviews.direct > 0 && reviews.viaGateway === 0);
    assert.equal(reviews.expiresAt, reviews.lastSeen + 7 * 86_400_000 + 0.7 * 86_400_000, 'TTL + grace after the last sighting');
    await analyzer.pin('frontend.shop', 'ratings.default');
    const pinned = (await past(v.version)).edges.find((e) => e.key === 'frontend.shop>ratings.default');
    assert.deepEqual({ pinned: pinned?.pinned, count: pinned?.count }, { pinned: true, count: 0 });
    await analyzer.unpin('frontend.shop', 'ratings.default');
  });

  it('keeps every position when edges and services arrive; a new service lands near its neighbours', async () => {
    const before = await view();
    const at = new Map(before.nodes.map((n) => [n.id, [n.x, n.y]]));
    await ingest(native(FRONTEND, 'reviews.default:9080'));
    // A service no longer in the inventory but still in an old edge is a node too: swap the mesh for one without cart.
    const withoutCart = MESH.replace(/  - name: cart\n(    .*\n)+?(?=  - name:)/, '');
    assert.doesNotMatch(withoutCart, /name: cart/);
    await ingest(native(FRONTEND, 'cart:7070'));
    analyzer.setInventory(new Inventory(parseMesh(withoutCart, 'mesh.yaml')));
    await ingest(native(FRONTEND, 'details.default:9080'));
    const after = await past(before.version);
    for (const n of after.nodes) if (at.has(n.id)) assert.deepEqual([n.x, n.y], at.get(n.id), `${n.id} did not move`);
    assert.equal(after.nodes.find((n) => n.id === 'cart.shop')?.missing, true);
    analyzer.setInventory(new Inventory(parseMesh(MESH, 'mesh.yaml')));
  });

  it('places a new node beside its neighbours, else its namespace, else outside everything', () => {
    const seed = seedPositions([{ id: 'a.x', namespace: 'x' }, { id: 'b.x', namespace: 'x' }, { id: 'c.y', namespace: 'y' }]);
    const a = seed.get('a.x')!;
    const near = placeNew('n.z', [a], [], seed.values());
    assert.ok(Math.hypot(near.x - a.x, near.y - a.y) <= 10.001, 'beside its only neighbour');
    const c = seed.get('c.y')!;
    const inNs = placeNew('m.y', [], [c], seed.values());
    assert.ok(Math.hypot(inNs.x - c.x, inNs.y - c.y) <= 10.001, 'beside its namespace');
    const far = placeNew('o.w', [], [], seed.values());
    const radius = Math.max(...[...seed.values()].map((p) => Math.hypot(p.x, p.y)));
    assert.ok(Math.hypot(far.x, far.y) > radius, 'outside the rest');
    assert.deepEqual(placeNew('o.w', [], [], seed.values()), far, 'the same id lands on the same spot');
  });

  it('streams deltas over SSE: a new edge with its new node, then the scope change', async () => {
    const res = await fetch(`${base}/api/v1/graph/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const next = async (pred: (events: Array<{ event: string; data: any }>) => boolean) => {
      for (;;) {
        const events = text.split('\n\n').filter((b) => b.includes('data: ')).map((b) => ({ event: /event: (\w+)/.exec(b)?.[1] ?? '', data: JSON.parse(b.slice(b.indexOf('data: ') + 6).split('\n')[0]) }));
        if (pred(events)) return events;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += value;
      }
    };
    await next((ev) => ev.some((e) => e.event === 'hello'));
    await ingest(native('ratings-v1-abc.default', 'cart.shop:7070'));
    const events = await next((ev) => ev.some((e) => e.event === 'delta' && (e.data as GraphDelta).edges.some((x) => x.key === 'ratings.default>cart.shop')));
    const delta = events.find((e) => e.event === 'delta' && (e.data as GraphDelta).edges.some((x) => x.key === 'ratings.default>cart.shop'))!.data as GraphDelta;
    assert.ok(delta.scopes.some((s) => s.id === 'ratings.default' && s.scope === 1));
    await reader.cancel();
  });

  it('caches /api/v1/graph per version, never serving a graph older than the last change', async () => {
    const first = await app.inject('/api/v1/graph');
    const again = await app.inject('/api/v1/graph');
    assert.equal(again.body, first.body);
    await ingest(native('details-v1-abc.default', 'ratings:9080'));
    for (const deadline = Date.now() + 5000; ; await new Promise((r) => setImmediate(r))) {
      const g = (await app.inject('/api/v1/graph')).json();
      if (g.edges.some((e: { key: string }) => e.key === 'details.default>ratings.default')) break;
      assert.ok(Date.now() < deadline, 'the new edge never showed');
    }
  });

  it('gzips big answers for clients that take it', async () => {
    for (const url of ['/api/v1/graph', '/api/v1/graph/view', '/api/v1/services']) {
      const res = await app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(res.headers['content-encoding'], 'gzip', url);
      assert.ok(JSON.parse(gunzipSync(res.rawPayload).toString()), url);
      const plain = await app.inject(url);
      assert.equal(plain.headers['content-encoding'], undefined, url);
    }
  });

  it('pages /api/v1/services with offset and limit, totals in x-total-count', async () => {
    const all = (await app.inject('/api/v1/services')).json();
    assert.equal(all.length, 7);
    const page = await app.inject('/api/v1/services?offset=2&limit=3');
    assert.equal(page.headers['x-total-count'], '7');
    assert.deepEqual(page.json().map((s: { id: string }) => s.id), all.slice(2, 5).map((s: { id: string }) => s.id));
    const shop = await app.inject('/api/v1/services?namespace=shop&limit=1');
    assert.equal(shop.headers['x-total-count'], '3');
    assert.deepEqual(shop.json().map((s: { id: string }) => s.id), ['frontend.shop']);
    const pp = all.find((s: { id: string }) => s.id === 'productpage.default');
    assert.deepEqual({ callers: pp.callers, dependencies: pp.dependencies }, { callers: 0, dependencies: 2 });
    assert.equal((await app.inject('/api/v1/services?limit=0')).statusCode, 400);
  });

  it('tells ACK, NACK (with the message) and pending apart per connected proxy', async () => {
    const status = (nodeId: string, workload: string, types: Record<string, Record<string, unknown>>) =>
      ({ nodeId, workload, service: 'reviews.default', profile: 'envoy', streams: 1, connectedAt: new Date().toISOString(), types, bytesPushed: 0, scope: [] }) as never;
    const proxies = [
      status('acked', 'reviews-v1-abc.default', { cds: { subscribed: '*', versionSent: '3', versionAcked: '3', resources: 2 } }),
      status('refused', 'reviews-v2-abc.default', { cds: { subscribed: '*', versionSent: '4', versionAcked: '3', lastNack: { version: '4', message: 'bad cluster', at: '' }, resources: 2 } }),
      status('waiting', 'reviews-v2-abc.default', { cds: { subscribed: '*', versionSent: '5', versionAcked: '4', resources: 2 } }),
    ];
    const withXds = await buildApp({ analyzer, xds: { proxies: () => proxies, proxyCount: () => proxies.length, proxy: (id) => proxies.find((p: { nodeId: string }) => p.nodeId === id) } });
    try {
      const d = (await withXds.inject('/api/v1/services/default/reviews')).json();
      const byWorkload = Object.fromEntries(d.proxies.map((p: { workload: string; xds: unknown }) => [p.workload, p.xds]));
      assert.deepEqual(byWorkload['reviews-v1-abc.default'], [{ nodeId: 'acked', state: 'ACK' }]);
      assert.deepEqual(byWorkload['reviews-v2-abc.default'], [{ nodeId: 'refused', state: 'NACK', nack: 'bad cluster' }, { nodeId: 'waiting', state: 'pending' }]);
    } finally {
      await withXds.close();
    }
  });

  it('gives the view as rows that decode to the very objects, in a third of the bytes or less', async () => {
    const v = (await view()).version;
    const pin = await app.inject({ method: 'PUT', url: '/api/v1/services/shop/frontend/pins', payload: { services: ['ratings.default'] } });
    assert.equal(pin.statusCode, 200, pin.body);
    const objects = await past(v);
    const res = await app.inject('/api/v1/graph/view?encoding=rows');
    const rows = res.json() as ViewRows;
    assert.equal(rows.encoding, 'rows');
    assert.ok(objects.edges.some((e) => e.pinned && e.count === 0), 'a pin without traffic is in the view');
    assert.ok(objects.nodes.some((n) => n.client), 'a client-only service is in the view');
    const { now: _a, ...want } = objects;
    const { now: _b, ...got } = decodeView(rows);
    assert.deepEqual(got, want);
    assert.ok(res.body.length * 2 < JSON.stringify(objects).length, `${res.body.length} bytes as rows, ${JSON.stringify(objects).length} as objects`);
    assert.equal((await app.inject('/api/v1/graph/view?encoding=columns')).statusCode, 400);
    await app.inject({ method: 'DELETE', url: '/api/v1/services/shop/frontend/pins' });
  });

  it('closes with event streams open: they end, the server does not wait for them', { timeout: 10_000 }, async () => {
    const other = await buildApp({ analyzer });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${url}/api/v1/graph/events`);
    const reader = res.body!.getReader();
    await reader.read();
    const closed = other.close();
    for (;;) if ((await reader.read()).done) break;
    await closed;
  });
});

describe('/api/v1/graph field selection', () => {
  let analyzer: Analyzer;
  let app: FastifyInstance;
  before(async () => {
    analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    app = await buildApp({ analyzer });
    analyzer.ingestRecords([native(PAGE, 'reviews:9080'), native(FRONTEND, 'cart:7070', { code: 503 })] as never);
  });
  after(async () => {
    await app.close();
    await analyzer.close();
  });

  it('sends only the attributes named, keys and ends always, in any spelling', async () => {
    const res = await app.inject('/api/v1/graph?fields=edges.errors,nodes.namespace,%20edges.count');
    assert.equal(res.statusCode, 200, res.body);
    const g = res.json();
    assert.deepEqual(g.nodes.find((n: { key: string }) => n.key === 'cart.shop'), { key: 'cart.shop', attributes: { namespace: 'shop' } });
    assert.deepEqual(g.edges.find((e: { key: string }) => e.key === 'frontend.shop>cart.shop'), {
      key: 'frontend.shop>cart.shop',
      source: 'frontend.shop',
      target: 'cart.shop',
      attributes: { count: 1, errors: 1 },
    });
    const respelt = await app.inject('/api/v1/graph?fields=nodes.namespace,edges.count,edges.errors');
    assert.equal(respelt.body, res.body);
    // An entity no field names keeps every attribute.
    const nodesOnly = (await app.inject('/api/v1/graph?fields=nodes.scope')).json();
    assert.deepEqual(Object.keys(nodesOnly.nodes[0].attributes), ['scope']);
    assert.ok('protocols' in nodesOnly.edges[0].attributes && 'lastSeen' in nodesOnly.edges[0].attributes);
    // Naming only identities: no attributes at all.
    const bare = (await app.inject('/api/v1/graph?fields=nodes.key,edges.source,edges.target')).json();
    assert.deepEqual(bare.nodes.find((n: { key: string }) => n.key === 'reviews.default'), { key: 'reviews.default' });
    assert.deepEqual(bare.edges.find((e: { key: string }) => e.key === 'productpage.default>reviews.default'), {
      key: 'productpage.default>reviews.default',
      source: 'productpage.default',
      target: 'reviews.default',
    });
    // Filters and fields together.
    const shop = (await app.inject('/api/v1/graph?namespace=shop&fields=edges.count')).json();
    assert.deepEqual(shop.edges, [{ key: 'frontend.shop>cart.shop', source: 'frontend.shop', target: 'cart.shop', attributes: { count: 1 } }]);
  });

  it('answers an unknown field 400, naming it and listing the valid ones', async () => {
    const res = await app.inject('/api/v1/graph?fields=nodes.namespace,edges.rps,nodes');
    assert.equal(res.statusCode, 400);
    const { message, error } = res.json();
    assert.equal(error, 'Bad Request');
    assert.match(message, /^fields: unknown fields "edges\.rps", "nodes"; valid fields are /);
    for (const f of VALID_FIELDS) assert.ok(message.includes(f), f);
    assert.ok(VALID_FIELDS.includes('edges.p99Ms') && VALID_FIELDS.includes('nodes.scope'));
  });

  it('documents fields in the OpenAPI description', async () => {
    const doc = (await app.inject('/docs/json')).json();
    const params = doc.paths['/api/v1/graph'].get.parameters as Array<{ name: string; description: string }>;
    assert.match(params.find((p) => p.name === 'fields')!.description, /edges\.count/);
  });
});

describe('/api/v1/graph and /api/v1/services kept incrementally equal what a fresh build gives', () => {
  const T0 = Date.now();
  const clock = new VirtualClock(T0);
  const TTL = 600_000;
  let analyzer: Analyzer;
  let app: FastifyInstance;
  const id = (i: number) => `${serviceOf(i).name}.${serviceOf(i).namespace}`;
  const call = (from: number, to: number, code = 200): AccessLogRecord => {
    const a = serviceOf(from);
    return { time: new Date(clock.now()).toISOString(), source: `${a.name}-0.${a.namespace}`, authority: `${id(to)}:8080`, protocol: 'http', code, durationMs: 4, reporter: 'envoy' };
  };
  const FILTERS: GraphFilter[] = [{}, { namespace: 'team-003' }, { includeExpired: true }, { service: id(5) }];
  const FIELDS = ['', 'nodes.scope,edges.count,edges.active', 'nodes.key,edges.source'];

  const decoded = (res: { headers: Record<string, unknown>; rawPayload: Buffer }) =>
    (res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.rawPayload) : res.rawPayload).toString();
  /** The served answers equal the from-scratch reference; waits for the change to reach the live graph (next turn). */
  const matches = async (step: string, opts: { viewCountsLag?: boolean } = {}) => {
    const fresh = await buildApp({ analyzer });
    try {
      for (const deadline = Date.now() + 5000; ; await new Promise((r) => setImmediate(r))) {
        try {
          for (const filter of FILTERS) {
            for (const fields of FIELDS) {
              const qs = new URLSearchParams({ ...(filter as Record<string, string>), ...(fields ? { fields } : {}) }).toString();
              const want = JSON.parse(JSON.stringify(serviceGraphExport(analyzer, filter, parseFields(fields))));
              const plain = await app.inject(`/api/v1/graph?${qs}`);
              assert.deepEqual(plain.json(), want, `${step}: /api/v1/graph?${qs}`);
              const gz = await app.inject({ url: `/api/v1/graph?${qs}`, headers: { 'accept-encoding': 'gzip' } });
              assert.equal(decoded(gz), plain.body, `${step}: gzip of /api/v1/graph?${qs}`);
            }
          }
          // The page's view: every node and edge what the analyzer says now (counts alone move it at the next stats tick).
          const v = JSON.parse(decoded(await app.inject({ url: '/api/v1/graph/view', headers: { 'accept-encoding': 'gzip' } }))) as GraphView;
          const edges = analyzer.edges({ kind: 'service', includeExpired: true });
          const pins = new Set(analyzer.pins().map((p) => `${p.source}>${p.dest}`));
          const traffic = new Set(edges.map((e) => `${e.source}>${e.dest}`));
          assert.deepEqual(
            v.edges.map((e) => [e.key, e.active, e.pinned ?? false, ...(opts.viewCountsLag ? [] : [e.count, e.errors, e.lastSeen])]).sort(),
            [
              ...edges.map((e) => [`${e.source}>${e.dest}`, e.active, pins.has(`${e.source}>${e.dest}`), ...(opts.viewCountsLag ? [] : [e.count, e.errors, Date.parse(e.lastSeen)])]),
              ...[...pins].filter((k) => !traffic.has(k)).map((k) => [k, true, true, ...(opts.viewCountsLag ? [] : [0, 0, 0])]),
            ].sort(),
            `${step}: /api/v1/graph/view edges`,
          );
          const ids = new Set([...analyzer.inventory.services.map((x) => x.id), ...edges.flatMap((e) => [e.source, e.dest])]);
          assert.deepEqual(v.nodes.map((n) => [n.id, n.scope, n.missing ?? false]).sort(), [...ids].map((id) => [id, analyzer.scope(id).length, !analyzer.inventory.service(id)]).sort(), `${step}: view nodes`);
          for (const url of ['/api/v1/services', '/api/v1/services?namespace=team-002', '/api/v1/services?offset=250&limit=20']) {
            const got = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
            assert.deepEqual(JSON.parse(decoded(got)), (await fresh.inject(url)).json(), `${step}: ${url}`);
          }
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
    } finally {
      await fresh.close();
    }
  };

  before(async () => {
    const g = syntheticGraph(400, 1200);
    analyzer = Analyzer.open({ inventory: g.inventory, clock, dependencyTtlMs: TTL, graceMs: 0 });
    analyzer.ingestRecords(g.records.map((r) => ({ ...r, time: new Date(T0).toISOString() })));
    app = await buildApp({ analyzer });
  });
  after(async () => {
    await app.close();
    await analyzer.close();
  });

  it('after new edges, new counts, pins, rules, expiry, a return and an inventory change', async () => {
    await matches('start');
    // One without a duration (no latency quantiles) and one the lazy gateway reported.
    const { durationMs: _d, ...noDuration } = call(3, 397);
    analyzer.ingestRecords([call(1, 399), call(2, 398, 503), call(350, 5), noDuration, { ...call(4, 396), reporter: 'gateway' }]);
    await matches('new edges');
    // New counts on existing edges may lag by COUNTS_MS; past it they show.
    const existing = analyzer.edges({ kind: 'service' }).slice(0, 50);
    analyzer.ingestRecords(existing.map((e) => ({ ...call(0, 0), source: `${e.source.split('.')[0]}-0.${e.source.split('.')[1]}`, authority: `${e.dest}:8080`, code: 503 })));
    clock.advance(COUNTS_MS);
    await matches('new counts', { viewCountsLag: true });
    await analyzer.pin(id(7), id(300));
    await matches('pin');
    await analyzer.unpin(id(7), id(300));
    await matches('unpin');
    await analyzer.pin(id(8), id(9));
    await matches('a pin without traffic');
    await analyzer.addRule({ id: 'team-001-sees-team-002', source: '*.team-001', namespace: 'team-002' });
    await matches('rule');
    // Keep a few edges alive, let the rest expire.
    clock.advance(TTL - COUNTS_MS - 1000);
    analyzer.ingestRecords([call(1, 399), call(10, 11)]);
    clock.advance(2000);
    assert.ok(analyzer.checkExpiry().length > 100, 'edges expired');
    await matches('expiry');
    analyzer.ingestRecords([call(350, 5)]);
    await matches('an expired edge returns');
    const { services } = syntheticGraph(400, 0).inventory;
    analyzer.setInventory(new Inventory({ clusterDomain: 'cluster.local', services: services.filter((s) => s.namespace !== 'team-003') }));
    await matches('inventory without team-003');
  });
});

describe('config bytes (measured in a worker thread)', () => {
  it('equal the serialized size of what each proxy is pushed, scoped and full, and follow a new inventory', async () => {
    const deployed = { gateway: { host: '127.0.0.1', port: 15008 }, accessLogService: { host: '127.0.0.1', port: 15091 } };
    const analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    const app = await buildApp({ analyzer, ...deployed });
    try {
      analyzer.ingestRecords([native(PAGE, 'reviews:9080'), native(PAGE, 'details:9080')] as never);
      const check = async (inventory: Inventory) => {
        const d = (await app.inject('/api/v1/services/default/productpage')).json();
        assert.deepEqual(d.scope, ['details.default', 'reviews.default']);
        const { connected: _c, xds: _x, ...got } = d.proxies[0];
        assert.deepEqual(got, measureProxyBytes(inventory, 'productpage-v1-abc.default', d.scope, deployed));
        assert.ok(got.bytesScoped > 0 && got.bytesScoped < got.bytesFull, JSON.stringify(got));
        return got as { bytesFull: number };
      };
      const before = await check(analyzer.inventory);
      // One more service in the mesh: every full config grows, scoped ones do not.
      const bigger = new Inventory(parseMesh(`${MESH}  - name: extra\n    clusterIP: 10.96.0.99\n    ports: [{port: 8080}]\n    workloads: [{name: extra-0, address: 10.244.9.9, labels: {app: extra}}]\n`, 'mesh.yaml'));
      analyzer.setInventory(bigger);
      const after = await check(bigger);
      assert.ok(after.bytesFull > before.bytesFull, `${after.bytesFull} > ${before.bytesFull}`);
      // A version derived from the last one (as Kubernetes makes them) reaches the worker as a delta:
      // extra gets a second pod and ratings leaves the mesh; the figures are still exact.
      const spec = parseMesh(`${MESH}  - name: extra\n    clusterIP: 10.96.0.99\n    ports: [{port: 8080}]\n    workloads: [{name: extra-0, address: 10.244.9.9, labels: {app: extra}}, {name: extra-1, address: 10.244.9.10, labels: {app: extra}}]\n`, 'mesh.yaml');
      const derived = bigger.apply(bigger.deltaTo({ ...spec, services: spec.services.filter((x) => x.id !== 'ratings.default') }));
      assert.deepEqual([...derived.changedSince(bigger)!].sort(), ['extra.default', 'ratings.default']);
      analyzer.setInventory(derived);
      const last = await check(derived);
      assert.ok(last.bytesFull !== after.bytesFull, `${last.bytesFull} vs ${after.bytesFull}`);
    } finally {
      await app.close();
      await analyzer.close();
    }
  });
});

describe('gzip made of separately deflated pieces', () => {
  it('inflates to the concatenation, CRC and size checked, whatever pieces changed, were reused or were evicted', () => {
    // A store small enough that every answer evicts what the one before left.
    for (const gz of [new PieceGzip(), new PieceGzip(1024)]) {
      const texts = Array.from({ length: 40 }, (_, i) => `${i ? ',' : ''}{"i":${i},"s":"${'é✓'.repeat(i * 50)}"}`);
      for (let round = 0; round < 5; round++) {
        texts[(round * 7) % texts.length] = `,{"round":${round}}`;
        texts.splice(round + 1, 0, '');
        const body = gz.gzip(['[', ...texts.slice(1), ']']);
        // gunzip verifies the trailer: a wrong combined CRC or length throws.
        assert.equal(gunzipSync(body).toString(), `[${texts.slice(1).join('')}]`, `round ${round}`);
        assert.equal(gz.plain(['[', ...texts.slice(1), ']']).toString(), `[${texts.slice(1).join('')}]`);
      }
    }
  });
});

describe('/api/v1/graph under steady traffic', () => {
  it('renews moved counts ahead of need: the answer after the lag runs out serializes no edge, and equals a fresh export', async () => {
    const clock = new VirtualClock(Date.now());
    const g = syntheticGraph(300, 900);
    const analyzer = Analyzer.open({ inventory: g.inventory, clock });
    try {
      const traffic = () => analyzer.ingestRecords(g.records.map((r) => ({ ...r, time: new Date(clock.now()).toISOString() })));
      traffic();
      const renewed = new GraphJson(analyzer, parseFields(''), COUNTS_MS);
      const lazy = new GraphJson(analyzer, parseFields(''), COUNTS_MS);
      renewed.build({});
      lazy.build({});
      traffic();
      clock.advance(COUNTS_MS / 2 - 1);
      assert.equal(renewed.renew(60_000), 0, 'younger than half the lag: left alone');
      clock.advance(1);
      assert.equal(renewed.renew(60_000), g.edges, 'every edge whose counts moved');
      assert.equal(renewed.renew(60_000), 0, 'nothing left');
      clock.advance(COUNTS_MS / 2);
      const [before, lazyBefore] = [renewed.rendered, lazy.rendered];
      const want = JSON.parse(JSON.stringify(serviceGraphExport(analyzer)));
      assert.deepEqual(JSON.parse(renewed.build({}).pieces.join('')), want);
      assert.equal(renewed.rendered - before, 0, 'the answer serialized nothing');
      assert.deepEqual(JSON.parse(lazy.build({}).pieces.join('')), want);
      assert.equal(lazy.rendered - lazyBefore, g.edges, 'without renewal the answer serializes every edge');
    } finally {
      await analyzer.close();
    }
  });
});

describe('warm-up after listen', () => {
  /** JSON.stringify calls while `fn` runs: every entity a cache serializes is one. */
  const stringified = async (fn: () => Promise<unknown>): Promise<number> => {
    const original = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof original>) => (calls++, original(...args))) as typeof original;
    try {
      await fn();
    } finally {
      JSON.stringify = original;
    }
    return calls;
  };
  const URLS = ['/api/v1/graph/view?encoding=rows', '/api/v1/graph', '/api/v1/services'];

  it('builds the view, the graph and the services list in the background: health answered meanwhile, first answers serialize nothing and equal fresh ones', async () => {
    const g = syntheticGraph(1000, 3000);
    const analyzer = Analyzer.open({ inventory: g.inventory });
    analyzer.ingestRecords(g.records);
    const app = await buildApp({ analyzer });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const health = await app.inject('/healthz');
      assert.equal(health.statusCode, 200);
      const { done, total } = app.warmer.progress;
      assert.ok(done < total, `/healthz answered while warming (${done} of ${total} steps done)`);
      await app.warmer.start();
      assert.equal(app.warmer.progress.done, total);
      const answers: Record<string, unknown> = {};
      const calls = await stringified(async () => {
        for (const url of URLS) {
          const res = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
          assert.equal(res.statusCode, 200, res.body);
          assert.equal(res.headers['content-encoding'], 'gzip', url);
          answers[url] = JSON.parse(gunzipSync(res.rawPayload).toString());
        }
      });
      assert.ok(calls < 20, `the first answers after warm-up serialized ${calls} values (${g.edges + 1000} entities without it)`);
      assert.deepEqual(answers['/api/v1/graph'], JSON.parse(JSON.stringify(serviceGraphExport(analyzer))));
      assert.equal(decodeView(answers['/api/v1/graph/view?encoding=rows'] as ViewRows).edges.length, g.edges);
      assert.equal((answers['/api/v1/services'] as unknown[]).length, 1000);
    } finally {
      await app.close();
      await analyzer.close();
    }
  });

  it('a request mid-warm reuses what is done and builds only the rest', async () => {
    const g = syntheticGraph(500, 1500);
    const analyzer = Analyzer.open({ inventory: g.inventory });
    analyzer.ingestRecords(g.records);
    const app = await buildApp({ analyzer });
    try {
      // Inject-only: started by hand (after ready(): its schema compilation stringifies too), stopped once the
      // view's nodes are serialized (steps: layout, nodes).
      await app.ready();
      const warming = app.warmer.start();
      for (const deadline = Date.now() + 20_000; app.warmer.progress.done < 2; await new Promise((r) => setImmediate(r))) {
        assert.ok(Date.now() < deadline, 'warm-up stalled before the view nodes');
      }
      await app.warmer.stop();
      await warming;
      const calls = await stringified(async () => assert.equal((await app.inject('/api/v1/graph/view?encoding=rows')).statusCode, 200));
      assert.ok(calls >= g.edges && calls < g.edges + 20, `serialized ${calls}: the ${g.edges} edges, not the 500 nodes already done`);
    } finally {
      await app.close();
      await analyzer.close();
    }
  });
});
