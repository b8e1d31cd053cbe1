// Istio AuthorizationPolicy at the gateway: a table of policy cases decided as
// Istio's sidecar would, then the gateway itself refusing (403 with the reason)
// and forwarding first calls by the destination's policies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Inventory, type AuthorizationPolicy, type Service, type Workload } from '../../contracts/index.ts';
import { Authorizer, pathMatch, stringMatch, type AuthzRequest } from '../../lazy-gateway/authz.ts';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { gatewayFor, h1Backend, h1Request, inventoryOf, type Backend } from './helpers.ts';

const wl = (name: string, ns: string, labels: Record<string, string>, sa?: string, address = '10.0.0.1'): Workload => ({
  id: `${name}.${ns}`,
  name,
  namespace: ns,
  address,
  labels,
  service: `${labels.app}.${ns}`,
  ...(sa ? { serviceAccount: sa } : {}),
});

const ratingsPod = wl('ratings-0', 'shop', { app: 'ratings', version: 'v1' }, 'ratings', '10.0.1.9');
const ratings: Service = { id: 'ratings.shop', name: 'ratings', namespace: 'shop', fqdn: 'ratings.shop.svc.cluster.local', ports: [{ port: 9080, targetPort: 8080, protocol: 'http' }], workloads: [ratingsPod] };
const reviews = wl('reviews-1', 'shop', { app: 'reviews' }, 'reviews', '10.0.1.7');
const stranger = wl('curl-1', 'other', { app: 'curl' }, 'default', '10.0.2.3');

function inventoryWith(policies: AuthorizationPolicy[]): Inventory {
  return new Inventory({ clusterDomain: 'cluster.local', services: [ratings], authorizationPolicies: policies });
}

function req(over: Partial<AuthzRequest> = {}): AuthzRequest {
  return { caller: reviews, callerAddress: reviews.address, method: 'GET', path: '/ratings/1?x=y', host: 'ratings.shop:9080', port: 8080, headers: ['x-team', 'blue'], ...over };
}

const policy = (p: Partial<AuthorizationPolicy> & Pick<AuthorizationPolicy, 'action' | 'rules'>): AuthorizationPolicy => ({ name: 'p', namespace: 'shop', ...p });

type Case = [name: string, policies: AuthorizationPolicy[], request: Partial<AuthzRequest>, allowed: boolean, reason?: RegExp];

const P_REVIEWS = 'cluster.local/ns/shop/sa/reviews';
const CASES: Case[] = [
  ['no policy: allowed', [], {}, true],
  ['ALLOW without rules (allow-nothing) denies', [policy({ action: 'ALLOW', rules: [] })], {}, false, /no ALLOW AuthorizationPolicy of ratings-0.shop \(shop\/p\)/],
  ['ALLOW with an empty rule allows all', [policy({ action: 'ALLOW', rules: [{}] })], {}, true],
  ['DENY without rules matches nothing', [policy({ action: 'DENY', rules: [] })], {}, true],
  ['ALLOW by exact principal', [policy({ action: 'ALLOW', rules: [{ from: [{ principals: [P_REVIEWS] }] }] })], {}, true],
  ['ALLOW by principal: another caller denied', [policy({ action: 'ALLOW', rules: [{ from: [{ principals: [P_REVIEWS] }] }] })], { caller: stranger }, false, /from cluster\.local\/ns\/other\/sa\/default/],
  ['ALLOW by principal suffix', [policy({ action: 'ALLOW', rules: [{ from: [{ principals: ['*/sa/reviews'] }] }] })], {}, true],
  ['ALLOW by principal prefix', [policy({ action: 'ALLOW', rules: [{ from: [{ principals: ['cluster.local/ns/shop/*'] }] }] })], {}, true],
  ['principals "*" needs an identity', [policy({ action: 'ALLOW', rules: [{ from: [{ principals: ['*'] }] }] })], { caller: undefined }, false, /unidentified caller/],
  ['ALLOW by namespace', [policy({ action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }] }] })], {}, true],
  ['ALLOW by namespace: other namespace denied', [policy({ action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }] }] })], { caller: stranger }, false],
  ['notNamespaces excludes', [policy({ action: 'ALLOW', rules: [{ from: [{ notNamespaces: ['other'] }] }] })], { caller: stranger }, false],
  ['DENY by namespace', [policy({ action: 'DENY', rules: [{ from: [{ namespaces: ['other'] }] }] })], { caller: stranger }, false, /denied by AuthorizationPolicy shop\/p \(DENY\)/],
  ['DENY wins over ALLOW', [policy({ name: 'a', action: 'ALLOW', rules: [{}] }), policy({ name: 'd', action: 'DENY', rules: [{ to: [{ methods: ['DELETE'] }] }] })], { method: 'DELETE' }, false, /shop\/d \(DENY\)/],
  ['DENY for another method lets GET through', [policy({ action: 'DENY', rules: [{ to: [{ methods: ['DELETE'] }] }] })], {}, true],
  ['methods: only GET', [policy({ action: 'ALLOW', rules: [{ to: [{ methods: ['GET'] }] }] })], { method: 'POST' }, false],
  ['notMethods', [policy({ action: 'ALLOW', rules: [{ to: [{ notMethods: ['POST', 'DELETE'] }] }] })], {}, true],
  ['paths prefix, query ignored', [policy({ action: 'ALLOW', rules: [{ to: [{ paths: ['/ratings/*'] }] }] })], {}, true],
  ['paths exact does not match a longer path', [policy({ action: 'ALLOW', rules: [{ to: [{ paths: ['/ratings'] }] }] })], {}, false],
  ['paths suffix', [policy({ action: 'ALLOW', rules: [{ to: [{ paths: ['*/1'] }] }] })], {}, true],
  ['notPaths', [policy({ action: 'ALLOW', rules: [{ to: [{ notPaths: ['/admin*'] }] }] })], { path: '/admin/x' }, false],
  ['path template {*}', [policy({ action: 'ALLOW', rules: [{ to: [{ paths: ['/ratings/{*}'] }] }] })], {}, true],
  ['ports: the workload port', [policy({ action: 'ALLOW', rules: [{ to: [{ ports: ['8080'] }] }] })], {}, true],
  ['ports: another port', [policy({ action: 'ALLOW', rules: [{ to: [{ ports: ['9090'] }] }] })], {}, false],
  ['hosts case-insensitive with port', [policy({ action: 'ALLOW', rules: [{ to: [{ hosts: ['RATINGS.shop:*'] }] }] })], {}, true],
  ['from AND to in one rule', [policy({ action: 'ALLOW', rules: [{ from: [{ namespaces: ['shop'] }], to: [{ methods: ['POST'] }] }] })], {}, false],
  ['rules are ORed', [policy({ action: 'ALLOW', rules: [{ to: [{ methods: ['POST'] }] }, { from: [{ namespaces: ['shop'] }] }] })], {}, true],
  ['when request.headers', [policy({ action: 'ALLOW', rules: [{ when: [{ key: 'request.headers[X-Team]', values: ['blue'] }] }] })], {}, true],
  ['when request.headers notValues', [policy({ action: 'ALLOW', rules: [{ when: [{ key: 'request.headers[x-team]', notValues: ['blue'] }] }] })], {}, false],
  ['when source.ip', [policy({ action: 'ALLOW', rules: [{ when: [{ key: 'source.ip', values: ['10.0.1.0/24'] }] }] })], {}, true],
  ['ipBlocks', [policy({ action: 'DENY', rules: [{ from: [{ ipBlocks: ['10.0.2.0/24'] }] }] })], { caller: stranger }, false],
  ['requestPrincipals cannot be checked: an ALLOW rule with it never matches', [policy({ action: 'ALLOW', rules: [{ from: [{ requestPrincipals: ['*'] }] }] })], {}, false],
  ['requestPrincipals cannot be checked: a DENY rule with it matches', [policy({ action: 'DENY', rules: [{ from: [{ requestPrincipals: ['*'] }] }] })], {}, false],
  ['unknown when key: DENY fails closed', [policy({ action: 'DENY', rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }] })], {}, false],
  ['CUSTOM that matches denies (no external authorizer)', [policy({ action: 'CUSTOM', provider: 'opa', rules: [{ to: [{ paths: ['/ratings/*'] }] }] })], {}, false, /CUSTOM, provider opa/],
  ['CUSTOM that does not match', [policy({ action: 'CUSTOM', provider: 'opa', rules: [{ to: [{ paths: ['/admin'] }] }] })], {}, true],
  ['AUDIT decides nothing', [policy({ action: 'AUDIT', rules: [{}] })], {}, true],
  ['selector not matching the pod: not applied', [policy({ action: 'ALLOW', selector: { app: 'reviews' }, rules: [] })], {}, true],
  ['selector matching the pod', [policy({ action: 'ALLOW', selector: { app: 'ratings' }, rules: [] })], {}, false],
  ['another namespace: not applied', [policy({ namespace: 'other', action: 'ALLOW', rules: [] })], {}, true],
  ['root namespace, no selector: mesh-wide', [policy({ namespace: 'istio-system', action: 'DENY', rules: [{ to: [{ paths: ['/ratings*'] }] }] })], {}, false, /istio-system\/p/],
  ['root namespace with a selector: by labels in any namespace', [policy({ namespace: 'istio-system', action: 'ALLOW', selector: { version: 'v1' }, rules: [] })], {}, false],
  ['targetRefs: for gateways, not sidecars', [policy({ action: 'ALLOW', targetRefs: true, rules: [] })], {}, true],
];

describe('AuthorizationPolicy decisions (Istio semantics)', () => {
  const authz = new Authorizer();
  for (const [name, policies, over, allowed, reason] of CASES) {
    test(name, () => {
      const d = authz.decide(inventoryWith(policies), ratings, req(over));
      assert.equal(d.allowed, allowed, JSON.stringify(d));
      if (reason && !d.allowed) assert.match(d.reason, reason);
    });
  }

  test('a service whose pods fall under different policies: allowed only if every pod allows', () => {
    const v2 = { ...ratingsPod, id: 'ratings-v2.shop', name: 'ratings-v2', labels: { app: 'ratings', version: 'v2' }, address: '10.0.1.10' };
    const two: Service = { ...ratings, workloads: [ratingsPod, v2] };
    const inv = new Inventory({ clusterDomain: 'cluster.local', services: [two], authorizationPolicies: [policy({ action: 'DENY', selector: { version: 'v2' }, rules: [{}] })] });
    const d = authz.decide(inv, two, req());
    assert.equal(d.allowed, false);
    assert.match((d as { reason: string }).reason, /ratings-v2\.shop/);
  });

  test('string and path matching', () => {
    assert.ok(stringMatch('abc*', 'abc') && stringMatch('abc*', 'abcd') && !stringMatch('abc*', 'xabc'));
    assert.ok(stringMatch('*abc', 'xabc') && !stringMatch('*abc', 'abcx'));
    assert.ok(stringMatch('*', 'x') && !stringMatch('*', ''));
    assert.ok(pathMatch('/a/{*}/c', '/a/b/c') && !pathMatch('/a/{*}/c', '/a/b/x/c'));
    assert.ok(pathMatch('/a/{**}', '/a/b/x/c') && !pathMatch('/a/{**}', '/a/'));
    assert.ok(pathMatch('/a.b/{*}', '/a.b/c') && !pathMatch('/a.b/{*}', '/axb/c'));
  });
});

describe('the gateway refuses a first call the destination would refuse', () => {
  let backend: Backend;
  let gateway: Gateway;

  before(async () => {
    backend = await h1Backend('127.0.0.91');
    // mesh.yaml carries no service accounts or policies: the Kubernetes source would; a delta adds them here.
    const base = inventoryOf([
      { name: 'ratings', namespace: 'shop', ports: [{ port: 9080, targetPort: backend.port }], workloads: [{ name: 'ratings-0', address: backend.address }] },
      { name: 'reviews', namespace: 'shop', ports: [], workloads: [{ name: 'reviews-1', address: '127.0.0.92' }] },
      { name: 'curl', namespace: 'other', ports: [], workloads: [{ name: 'curl-1', address: '127.0.0.93' }] },
    ]);
    const withSa = (id: string, sa: string, labels: Record<string, string> = {}) => {
      const s = base.service(id)!;
      return { ...s, workloads: s.workloads.map((w) => ({ ...w, serviceAccount: sa, labels })) };
    };
    const inventory = base.apply({
      services: [withSa('reviews.shop', 'reviews'), withSa('curl.other', 'default'), withSa('ratings.shop', 'ratings', { app: 'ratings' })],
      authorizationPolicies: [
        policy({ name: 'ratings-readers', action: 'ALLOW', selector: { app: 'ratings' }, rules: [{ from: [{ principals: [P_REVIEWS] }], to: [{ methods: ['GET'] }] }] }),
      ],
    });
    ({ gateway } = await gatewayFor(inventory));
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test('allowed caller: forwarded; others: 403 naming the policy, never reaching the destination', async () => {
    const ok = await h1Request(gateway.port, { host: 'ratings.shop:9080', path: '/ratings/1', localAddress: '127.0.0.92' });
    assert.equal(ok.status, 200, ok.body);
    const post = await h1Request(gateway.port, { host: 'ratings.shop:9080', path: '/ratings/2', method: 'POST', body: 'x', localAddress: '127.0.0.92' });
    assert.equal(post.status, 403);
    assert.equal(post.headers['x-meshscope-error'], 'authz-denied');
    assert.match(post.body, /no ALLOW AuthorizationPolicy of ratings-0\.shop \(shop\/ratings-readers\) matches POST \/ratings\/2/);
    const other = await h1Request(gateway.port, { host: 'ratings.shop:9080', path: '/ratings/3', headers: { 'x-meshscope-source': 'curl-1.other' } });
    assert.equal(other.status, 403);
    assert.match(other.body, /from cluster\.local\/ns\/other\/sa\/default/);
    assert.deepEqual(backend.requests.map((r) => r.url), ['/ratings/1']);
  });
});
