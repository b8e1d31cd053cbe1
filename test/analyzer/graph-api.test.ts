// What the graph page reads: /api/v1/graph/view (positions kept as edges
// arrive, gateway vs direct, pins, TTLs), the SSE deltas, answers cached per
// graph version but never stale, gzip, and /api/v1/services in pages.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { buildApp } from '../../analyzer/http/app.ts';
import type { GraphDelta, GraphView } from '../../analyzer/http/live-graph.ts';
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
    analyzer.close();
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
