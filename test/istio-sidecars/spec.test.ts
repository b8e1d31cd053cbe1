// The pure parts of the Sidecar writer: grouping, the spec, ownership, options.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSidecar, findGroups, foreignClaim, isOwn, parseAlwaysVisible, parseGatewayService, sameSidecar, type KubeSidecar } from '../../istio-sidecars/index.ts';
import { bookinfo, inventory } from './mesh.ts';

const gateway = { name: 'meshscope-gateway', namespace: 'meshscope', port: 15080 };

describe('workload groups', () => {
  it('groups a Deployment by the labels its pods share, without the per-revision ones', () => {
    const { groups, skipped } = findGroups(inventory(bookinfo('shop')));
    assert.deepEqual(skipped, []);
    const reviews = groups.find((g) => g.name === 'meshscope-reviews-v2')!;
    assert.deepEqual(reviews.selector, { app: 'reviews', version: 'v2' });
    assert.equal(reviews.workloads.length, 3);
    assert.deepEqual(reviews.services, ['reviews.shop']);
    assert.deepEqual(reviews.owners, ['Deployment/reviews-v2']);
    assert.deepEqual(groups.map((g) => g.name).sort(), ['meshscope-details-v1', 'meshscope-productpage-v1', 'meshscope-ratings-v1', 'meshscope-reviews-v1', 'meshscope-reviews-v2']);
  });

  it('makes controllers with the same pod labels one group, named after the first', () => {
    const inv = inventory([
      { name: 'web-blue', namespace: 'a', service: 'web', labels: { app: 'web' } },
      { name: 'web-green', namespace: 'a', service: 'web', labels: { app: 'web' } },
    ]);
    const { groups } = findGroups(inv);
    assert.equal(groups.length, 1);
    assert.deepEqual(groups[0].owners, ['Deployment/web-blue', 'Deployment/web-green']);
    assert.equal(groups[0].name, 'meshscope-web-blue');
  });

  it('skips a group whose selector also matches pods of another, naming the pod', () => {
    const inv = inventory([
      { name: 'reviews', namespace: 'a', service: 'reviews', labels: { app: 'reviews' } },
      { name: 'reviews-v2', namespace: 'a', service: 'reviews', labels: { app: 'reviews', version: 'v2' } },
    ]);
    const { groups, skipped } = findGroups(inv);
    assert.deepEqual(groups.map((g) => g.name), ['meshscope-reviews-v2']);
    assert.equal(skipped.length, 1);
    assert.deepEqual(skipped[0].owners, ['Deployment/reviews']);
    assert.match(skipped[0].reason, /\{app=reviews\} also matches pod reviews-v2-.* of Deployment\/reviews-v2/);
  });

  it('groups only the namespaces asked for (a delta regroups only its own)', () => {
    const inv = inventory([...bookinfo('a'), ...bookinfo('b')]);
    const only = findGroups(inv, { namespaces: new Set(['b']) });
    assert.deepEqual([...new Set(only.groups.map((g) => g.namespace))], ['b']);
    assert.deepEqual(only.groups, findGroups(inv).groups.filter((g) => g.namespace === 'b'));
  });

  it('skips pods without labels, and ignores the namespaces it is told to', () => {
    const inv = inventory([
      { name: 'bare', namespace: 'a', service: 'bare', labels: {} },
      { name: 'istiod', namespace: 'istio-system', service: 'istiod', labels: { app: 'istiod' } },
    ]);
    const { groups, skipped } = findGroups(inv, { ignoreNamespaces: new Set(['istio-system']) });
    assert.deepEqual(groups, []);
    assert.match(skipped[0].reason, /share no label/);
  });

  it('groups pods without a controller by their labels; equal names in a namespace get a selector hash', () => {
    const inv = inventory([
      { name: 'x1', namespace: 'a', service: 'api', labels: { app: 'api', track: 'stable' }, replicas: 2, owned: false },
      { name: 'x2', namespace: 'a', service: 'api', labels: { app: 'api', track: 'canary' }, owned: false },
    ]);
    const { groups } = findGroups(inv);
    assert.equal(groups.length, 2);
    for (const g of groups) assert.match(g.name, /^meshscope-api-[0-9a-f]{6}$/);
    assert.notEqual(groups[0].name, groups[1].name);
    assert.equal(groups.find((g) => g.selector.track === 'stable')!.workloads.length, 2);
  });
});

describe('Sidecar spec', () => {
  const inv = inventory(bookinfo('shop'));
  const pp = findGroups(inv).groups.find((g) => g.name === 'meshscope-productpage-v1')!;

  it('lists always-visible hosts, then the scope as ns/fqdn, and sends the rest to the gateway', () => {
    const s = buildSidecar(pp, [inv.service('reviews.shop')!, inv.service('details.shop')!], { alwaysVisible: ['istio-system/*', 'meshscope/*'], gateway, clusterDomain: 'cluster.local' });
    assert.deepEqual(s, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'meshscope-productpage-v1', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'meshscope' } },
      spec: {
        workloadSelector: { labels: { app: 'productpage', version: 'v1' } },
        egress: [{ hosts: ['istio-system/*', 'meshscope/*', 'shop/details.shop.svc.cluster.local', 'shop/reviews.shop.svc.cluster.local'] }],
        outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'meshscope-gateway.meshscope.svc.cluster.local', port: { number: 15080 } } },
      },
    });
  });

  it('compares only the fields meshscope applies, in any key order', () => {
    const want = buildSidecar(pp, [], { alwaysVisible: ['istio-system/*'], gateway, clusterDomain: 'cluster.local' });
    const have: KubeSidecar = {
      metadata: { name: want.metadata.name, namespace: 'shop', labels: { ...want.metadata.labels }, managedFields: [{ manager: 'meshscope' }] },
      spec: {
        outboundTrafficPolicy: { egressProxy: { port: { number: 15080 }, host: 'meshscope-gateway.meshscope.svc.cluster.local' }, mode: 'ALLOW_ANY' },
        egress: [{ hosts: ['istio-system/*'] }],
        workloadSelector: { labels: { version: 'v1', app: 'productpage' } },
        ingress: [],
      } as KubeSidecar['spec'],
    };
    assert.equal(sameSidecar(have, want), true);
    assert.equal(sameSidecar({ ...have, spec: { ...have.spec, egress: [{ hosts: ['istio-system/*', 'x/y'] }] } }, want), false);
    assert.equal(sameSidecar({ ...have, metadata: { ...have.metadata, labels: {} } }, want), false);
  });
});

describe('ownership', () => {
  const pp = findGroups(inventory(bookinfo('shop'))).groups.find((g) => g.name === 'meshscope-productpage-v1')!;
  const labels = [{ app: 'productpage', version: 'v1', 'pod-template-hash': 'x' }];
  const sidecar = (name: string, sel: Record<string, string> | undefined, managers: string[], own = false): KubeSidecar => ({
    metadata: { name, namespace: 'shop', labels: own ? { 'app.kubernetes.io/managed-by': 'meshscope' } : {}, managedFields: managers.map((manager) => ({ manager })) },
    spec: sel ? { workloadSelector: { labels: sel } } : {},
  });

  it('owns only what carries its label and its field manager', () => {
    assert.equal(isOwn(sidecar('a', {}, ['meshscope'], true)), true);
    assert.equal(isOwn(sidecar('a', {}, ['kubectl'], true)), false);
    assert.equal(isOwn(sidecar('a', {}, ['meshscope'], false)), false);
  });

  it('names the Sidecar that claims the group: same name, selecting its pods, or the namespace default', () => {
    assert.match(foreignClaim(pp, [sidecar('meshscope-productpage-v1', { x: 'y' }, ['kubectl-client-side-apply'])], labels)!, /\(managed by kubectl-client-side-apply\) has the name meshscope would write/);
    assert.match(foreignClaim(pp, [sidecar('mine', { app: 'productpage' }, ['helm'])], labels)!, /Sidecar shop\/mine \(managed by helm\) already selects its pods with \{app=productpage\}/);
    assert.match(foreignClaim(pp, [sidecar('default', undefined, ['kubectl'])], labels)!, /namespace's own default Sidecar/);
    assert.equal(foreignClaim(pp, [sidecar('other', { app: 'ratings' }, ['kubectl']), sidecar('meshscope-x', { app: 'productpage' }, ['meshscope'], true)], labels), undefined);
  });
});

describe('options', () => {
  it('reads --gateway-service NAME.NS:PORT and refuses anything else with the fix', () => {
    assert.deepEqual(parseGatewayService('meshscope-gateway.meshscope:15080'), gateway);
    assert.throws(() => parseGatewayService('meshscope-gateway:15080'), /--gateway-service "meshscope-gateway:15080": expected .*NAME.NAMESPACE:PORT/);
    assert.throws(() => parseGatewayService('gw.ns:0'), /NAME.NAMESPACE:PORT/);
  });

  it('reads --always-visible as ns/host entries', () => {
    assert.deepEqual(parseAlwaysVisible('istio-system/*, ./*,default/db.default.svc.cluster.local,*/*.example.com'), ['istio-system/*', './*', 'default/db.default.svc.cluster.local', '*/*.example.com']);
    assert.throws(() => parseAlwaysVisible('istio-system'), /"istio-system" is not a Sidecar egress host; write NAMESPACE\/HOST/);
  });
});
