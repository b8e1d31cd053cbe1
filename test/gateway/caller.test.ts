// Who called: each identification method, and short names resolving in the
// identified caller's namespace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { gatewayFor, h1Backend, h1Request, inventoryOf, metricsText, type Backend, type MemorySink } from './helpers.ts';

describe('caller identification', () => {
  let shop: Backend;
  let other: Backend;
  let gateway: Gateway;
  let sink: MemorySink;

  before(async () => {
    shop = await h1Backend('127.0.0.71');
    other = await h1Backend('127.0.0.72');
    ({ gateway, sink } = await gatewayFor(
      inventoryOf([
        { name: 'reviews', namespace: 'shop', ports: [{ port: 9080, targetPort: shop.port }], workloads: [{ name: 'reviews-s', address: shop.address }] },
        { name: 'reviews', namespace: 'other', ports: [{ port: 9080, targetPort: other.port }], workloads: [{ name: 'reviews-o', address: other.address }] },
        { name: 'productpage', namespace: 'shop', ports: [], workloads: [{ name: 'productpage-1', address: '127.0.0.73' }] },
        { name: 'frontend', namespace: 'other', ports: [], workloads: [{ name: 'frontend-1', address: '127.0.0.74' }] },
      ]),
    ));
  });

  after(async () => {
    await gateway.close();
    await shop.close();
    await other.close();
  });

  async function call(id: string, headers: Record<string, string>, localAddress?: string): Promise<{ body: string; source?: string; sourceAddress?: string }> {
    const res = await h1Request(gateway.port, { host: 'reviews:9080', path: `/${id}`, headers, localAddress });
    assert.equal(res.status, 200, res.body);
    const [rec] = await sink.waitFor((r) => r.path === `/${id}`, `record of ${id}`);
    return { body: res.body, source: rec.source, sourceAddress: rec.sourceAddress };
  }

  test('x-meshscope-source names the caller and is stripped before forwarding', async () => {
    const r = await call('by-source', { 'x-meshscope-source': 'frontend-1.other' }, '127.0.0.73');
    assert.equal(r.source, 'frontend-1.other', 'the header wins over the client IP');
    assert.ok(r.body.startsWith(other.address), 'short name resolved in the namespace of the header caller');
    const seen = other.requests.find((q) => q.url === '/by-source')!;
    assert.equal(seen.headers['x-meshscope-source'], undefined);
  });

  test('x-envoy-downstream-service-cluster names the caller service', async () => {
    const r = await call('by-cluster', { 'x-envoy-downstream-service-cluster': 'productpage.shop' });
    assert.equal(r.source, 'productpage.shop');
    assert.ok(r.body.startsWith(shop.address));
  });

  test('x-envoy-peer-metadata-id (an Istio node id) names the caller workload', async () => {
    const r = await call('by-peer', { 'x-envoy-peer-metadata-id': 'sidecar~127.0.0.74~frontend-1.other~other.svc.cluster.local' });
    assert.equal(r.source, 'frontend-1.other');
    assert.ok(r.body.startsWith(other.address));
  });

  test('the client IP names the caller workload when no header does', async () => {
    const shopCaller = await call('by-ip-shop', {}, '127.0.0.73');
    assert.equal(shopCaller.source, 'productpage-1.shop');
    assert.ok(shopCaller.body.startsWith(shop.address));
    const otherCaller = await call('by-ip-other', {}, '127.0.0.74');
    assert.equal(otherCaller.source, 'frontend-1.other');
    assert.ok(otherCaller.body.startsWith(other.address));
  });

  test('an unknown caller is reported by address and resolves short names in default', async () => {
    const res = await h1Request(gateway.port, { host: 'reviews:9080', path: '/anon', localAddress: '127.0.0.79' });
    assert.equal(res.status, 404);
    const [rec] = await sink.waitFor((r) => r.path === '/anon', 'record of the anonymous call');
    assert.equal(rec.source, undefined);
    assert.equal(rec.sourceAddress, '127.0.0.79');
    const ok = await h1Request(gateway.port, { host: 'reviews.shop:9080', path: '/anon-full', localAddress: '127.0.0.79' });
    assert.equal(ok.status, 200);
  });

  test('metrics count hits by identification method', async () => {
    const text = await metricsText(gateway);
    for (const by of ['source-header', 'envoy-header', 'peer-ip', 'none']) {
      assert.match(text, new RegExp(`meshscope_gateway_fallback_hits_total\\{identified_by="${by}"\\} [1-9]`), by);
    }
    assert.match(text, /meshscope_gateway_requests_total\{source="productpage\.shop",destination="reviews\.shop",code="200"\} [1-9]/);
  });
});
