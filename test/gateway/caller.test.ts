// Who called, and who may say so: a peer address that is an inventory workload
// decides; identity headers count only from a trusted proxy; contradictions are
// refused and counted. Short names resolve in the identified caller's namespace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { xfccIdentity } from '../../lazy-gateway/xfcc.ts';
import { deadPort, gatewayFor, h1Backend, h1Request, inventoryOf, metricsText, type Backend, type MemorySink } from './helpers.ts';

/** Workloads by address; TRUSTED is a proxy in --trusted-proxies, UNTRUSTED is neither. */
const PRODUCTPAGE = '127.0.0.73';
const FRONTEND = '127.0.0.74';
const TRUSTED = '127.0.0.80';
const UNTRUSTED = '127.0.0.79';
const xfcc = (ns: string, sa: string) => `By=spiffe://cluster.local/ns/mesh/sa/gateway;Hash=abc;Subject="";URI=spiffe://cluster.local/ns/${ns}/sa/${sa}`;

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
        { name: 'productpage', namespace: 'shop', ports: [], workloads: [{ name: 'productpage-1', address: PRODUCTPAGE }] },
        { name: 'frontend', namespace: 'other', ports: [], workloads: [{ name: 'frontend-1', address: FRONTEND }] },
      ]),
      { trustedProxies: [`${TRUSTED}/32`] },
    ));
  });

  after(async () => {
    await gateway.close();
    await shop.close();
    await other.close();
  });

  interface Case {
    name: string;
    from: string;
    headers: Record<string, string>;
    status: number;
    /** The record's source (undefined: reported by address only). */
    source?: string;
    /** Which namespace's reviews answered (200 only). */
    reached?: 'shop' | 'other';
    error?: string;
  }

  const cases: Case[] = [
    { name: 'peer is a workload, no header', from: PRODUCTPAGE, headers: {}, status: 200, source: 'productpage-1.shop', reached: 'shop' },
    { name: 'peer is a workload, x-meshscope-source agrees', from: PRODUCTPAGE, headers: { 'x-meshscope-source': 'productpage-1.shop' }, status: 200, source: 'productpage-1.shop', reached: 'shop' },
    { name: 'peer is a workload, x-meshscope-source names its service', from: PRODUCTPAGE, headers: { 'x-meshscope-source': 'productpage.shop' }, status: 200, source: 'productpage-1.shop', reached: 'shop' },
    { name: 'peer is a workload, x-meshscope-source contradicts', from: PRODUCTPAGE, headers: { 'x-meshscope-source': 'frontend-1.other' }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'peer is a workload, x-meshscope-source names no one known', from: PRODUCTPAGE, headers: { 'x-meshscope-source': 'ghost-1.shop' }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'peer is a workload, an Envoy header names another workload', from: PRODUCTPAGE, headers: { 'x-envoy-peer-metadata-id': `sidecar~${FRONTEND}~frontend-1.other~other.svc.cluster.local` }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'peer is a workload, a trusted-looking XFCC from another namespace', from: PRODUCTPAGE, headers: { 'x-forwarded-client-cert': xfcc('other', 'frontend') }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'peer is a workload, XFCC of its namespace', from: PRODUCTPAGE, headers: { 'x-forwarded-client-cert': xfcc('shop', 'productpage') }, status: 200, source: 'productpage-1.shop', reached: 'shop' },
    { name: 'trusted proxy, x-meshscope-source', from: TRUSTED, headers: { 'x-meshscope-source': 'frontend-1.other' }, status: 200, source: 'frontend-1.other', reached: 'other' },
    { name: 'trusted proxy, x-meshscope-source outside the inventory', from: TRUSTED, headers: { 'x-meshscope-source': 'ghost-1.other' }, status: 200, source: 'ghost-1.other', reached: 'other' },
    { name: 'trusted proxy, x-envoy-downstream-service-cluster', from: TRUSTED, headers: { 'x-envoy-downstream-service-cluster': 'productpage.shop' }, status: 200, source: 'productpage.shop', reached: 'shop' },
    { name: 'trusted proxy, x-envoy-peer-metadata-id', from: TRUSTED, headers: { 'x-envoy-peer-metadata-id': `sidecar~${FRONTEND}~frontend-1.other~other.svc.cluster.local` }, status: 200, source: 'frontend-1.other', reached: 'other' },
    { name: 'trusted proxy, XFCC alone gives the namespace', from: TRUSTED, headers: { 'x-forwarded-client-cert': xfcc('other', 'frontend') }, status: 200, source: undefined, reached: 'other' },
    { name: 'trusted proxy, XFCC and x-meshscope-source agree', from: TRUSTED, headers: { 'x-forwarded-client-cert': xfcc('other', 'frontend'), 'x-meshscope-source': 'frontend-1.other' }, status: 200, source: 'frontend-1.other', reached: 'other' },
    { name: 'trusted proxy, x-meshscope-source contradicts the XFCC identity', from: TRUSTED, headers: { 'x-forwarded-client-cert': xfcc('other', 'frontend'), 'x-meshscope-source': 'productpage-1.shop' }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'trusted proxy, only the last XFCC element counts', from: TRUSTED, headers: { 'x-forwarded-client-cert': `URI=spiffe://cluster.local/ns/shop/sa/productpage,${xfcc('other', 'frontend')}`, 'x-meshscope-source': 'productpage-1.shop' }, status: 403, source: 'productpage-1.shop', error: 'caller-identity-mismatch' },
    { name: 'untrusted peer, x-meshscope-source ignored', from: UNTRUSTED, headers: { 'x-meshscope-source': 'frontend-1.other' }, status: 200, source: undefined, reached: 'shop' },
    { name: 'untrusted peer, forged XFCC ignored', from: UNTRUSTED, headers: { 'x-forwarded-client-cert': xfcc('other', 'frontend') }, status: 200, source: undefined, reached: 'shop' },
    { name: 'untrusted peer, Envoy header ignored', from: UNTRUSTED, headers: { 'x-envoy-downstream-service-cluster': 'frontend.other' }, status: 200, source: undefined, reached: 'shop' },
  ];

  test('who is believed: peer workload decides, headers only from trusted proxies', async () => {
    for (const [i, c] of cases.entries()) {
      const path = `/case-${i}`;
      // Unqualified `reviews` resolves in the caller's namespace; unknown callers get `default`, so they name shop's explicitly.
      const host = c.source === undefined && c.reached === 'shop' ? 'reviews.shop:9080' : 'reviews:9080';
      const res = await h1Request(gateway.port, { host, path, headers: c.headers, localAddress: c.from });
      assert.equal(res.status, c.status, `${c.name}: ${res.body}`);
      if (c.error) {
        assert.equal(res.headers['x-meshscope-error'], c.error, c.name);
        assert.match(res.body, /cannot speak for another/, c.name);
      }
      if (c.reached) {
        const backend = c.reached === 'shop' ? shop : other;
        assert.ok(res.body.startsWith(backend.address), `${c.name}: answered by ${res.body}`);
        const seen = backend.requests.find((q) => q.url === path)!;
        for (const h of ['x-meshscope-source', 'x-forwarded-client-cert']) assert.equal(seen.headers[h], undefined, `${c.name}: ${h} is not passed on`);
      }
      const [rec] = await sink.waitFor((r) => r.path === path, `record of ${c.name}`);
      assert.equal(rec.source, c.source, `${c.name}: reported source`);
      if (c.source === undefined) assert.equal(rec.sourceAddress, c.from, `${c.name}: reported by address`);
      assert.equal(rec.code, c.status, c.name);
    }
  });

  test('refusals and ignored headers are counted; hits by identification method', async () => {
    const text = await metricsText(gateway);
    const refused = cases.filter((c) => c.error).length;
    assert.match(text, new RegExp(`meshscope_gateway_rejected_total\\{reason="caller-identity-mismatch"\\} ${refused}\\n`));
    assert.match(text, /meshscope_gateway_identity_headers_ignored_total\{header="x-meshscope-source"\} 1\n/);
    assert.match(text, /meshscope_gateway_identity_headers_ignored_total\{header="x-forwarded-client-cert"\} 1\n/);
    assert.match(text, /meshscope_gateway_identity_headers_ignored_total\{header="x-envoy-downstream-service-cluster"\} 1\n/);
    for (const by of ['source-header', 'envoy-header', 'client-cert', 'peer-ip', 'none']) {
      assert.match(text, new RegExp(`meshscope_gateway_fallback_hits_total\\{identified_by="${by}"\\} [1-9]`), by);
    }
    assert.match(text, /meshscope_gateway_requests_total\{source="productpage\.shop",destination="reviews\.shop",code="200"\} [1-9]/);
  });
});

test('by default loopback is trusted (our own sidecars call from there) and the gateway listens on loopback', async () => {
  const backend = await h1Backend('127.0.0.75');
  const { gateway, sink } = await gatewayFor(
    inventoryOf([
      { name: 'reviews', namespace: 'other', ports: [{ port: 9080, targetPort: backend.port }], workloads: [{ name: 'reviews-o', address: backend.address }] },
      { name: 'frontend', namespace: 'other', ports: [], workloads: [{ name: 'frontend-1', address: FRONTEND }] },
    ]),
    { host: undefined },
  );
  try {
    const res = await h1Request(gateway.port, { host: 'reviews:9080', path: '/default-trust', headers: { 'x-meshscope-source': 'frontend-1.other' } });
    assert.equal(res.status, 200, res.body);
    const [rec] = await sink.waitFor((r) => r.path === '/default-trust', 'record');
    assert.equal(rec.source, 'frontend-1.other');
    // Bound to 127.0.0.1 itself, not the wildcard: another address of the host is refused.
    await deadPort('127.0.0.2', gateway.port);
  } finally {
    await gateway.close();
    await backend.close();
  }
});

test('x-forwarded-client-cert: the SPIFFE URI of the last element, quoted or not', () => {
  const cases: Array<[string, string | undefined]> = [
    ['By=spiffe://td/ns/mesh/sa/gw;Hash=ab;URI=spiffe://td/ns/shop/sa/page', 'shop/page'],
    ['URI="spiffe://td/ns/shop/sa/page";Subject="CN=a,O=b"', 'shop/page'],
    // Only the last element is what the nearest proxy added; earlier ones came from the client.
    ['URI=spiffe://td/ns/shop/sa/page,By=x;URI=spiffe://td/ns/other/sa/front', 'other/front'],
    ['Subject="a,b";URI=spiffe://td/ns/shop/sa/page', 'shop/page'],
    ['URI=spiffe://td/ns/shop/sa/page,Hash=only', undefined],
    ['URI=https://example.com/x', undefined],
    ['URI=spiffe://td/ns/shop/sa/page/extra', undefined],
    ['', undefined],
  ];
  for (const [value, want] of cases) {
    const id = xfccIdentity(value);
    assert.equal(id ? `${id.namespace}/${id.serviceAccount}` : undefined, want, value);
  }
});
