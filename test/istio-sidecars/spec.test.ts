// The pure parts of the Sidecar writer: grouping, the spec, ownership, options.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSidecar, fieldManager, findGroups, foreignClaim, instanceNamed, isOwn, parseAlwaysVisible, parseGatewayService, parseInstance, sameSidecar, type KubeSidecar } from '../../istio-sidecars/index.ts';
import { bookinfo, inventory } from './mesh.ts';

const gateway = { name: 'meshscope-gateway', namespace: 'meshscope', port: 15080 };
const meshscope = instanceNamed('meshscope');

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
    const s = buildSidecar(pp, [inv.service('reviews.shop')!, inv.service('details.shop')!], { alwaysVisible: ['istio-system/*', 'meshscope/*'], gateway, clusterDomain: 'cluster.local', instance: meshscope });
    assert.deepEqual(s, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      metadata: { name: 'meshscope-productpage-v1', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'meshscope' } },
      spec: {
        workloadSelector: { labels: { app: 'productpage', version: 'v1' } },
        egress: [{ hosts: ['istio-system/*', 'meshscope/*', 'shop/details.shop.svc.cluster.local', 'shop/reviews.shop.svc.cluster.local'] }],
        outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'meshscope-gateway.meshscope.svc.cluster.local', port: { number: 15080 } } },
      },
    });
  });

  it('compares only the fields meshscope applies, in any key order', () => {
    const want = buildSidecar(pp, [], { alwaysVisible: ['istio-system/*'], gateway, clusterDomain: 'cluster.local', instance: meshscope });
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
    // Written by a version before instances: the same spec, but it gets its instance label on the next write.
    assert.equal(sameSidecar({ ...have, metadata: { ...have.metadata, labels: { 'app.kubernetes.io/managed-by': 'meshscope' } } }, want), false);
  });

  it('labels each Sidecar with the install that writes it', () => {
    const s = buildSidecar(pp, [], { alwaysVisible: [], clusterDomain: 'cluster.local', instance: instanceNamed('canary') });
    assert.deepEqual(s.metadata.labels, { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'canary' });
  });
});

describe('ownership', () => {
  const pp = findGroups(inventory(bookinfo('shop'))).groups.find((g) => g.name === 'meshscope-productpage-v1')!;
  const labels = [{ app: 'productpage', version: 'v1', 'pod-template-hash': 'x' }];
  /** own: labelled managed-by meshscope; a string: with that instance label too. */
  const sidecar = (name: string, sel: Record<string, string> | undefined, managers: string[], own: boolean | string = false): KubeSidecar => ({
    metadata: {
      name,
      namespace: 'shop',
      labels: own === false ? {} : { 'app.kubernetes.io/managed-by': 'meshscope', ...(typeof own === 'string' ? { 'app.kubernetes.io/instance': own } : {}) },
      managedFields: managers.map((manager) => ({ manager })),
    },
    spec: sel ? { workloadSelector: { labels: sel } } : {},
  });

  it('owns only what carries its label and its field manager', () => {
    assert.equal(isOwn(sidecar('a', {}, ['meshscope'], 'meshscope'), meshscope), true);
    assert.equal(isOwn(sidecar('a', {}, ['kubectl'], 'meshscope'), meshscope), false);
    assert.equal(isOwn(sidecar('a', {}, ['meshscope'], false), meshscope), false);
  });

  it('each install owns only what carries its instance label and its own field manager', () => {
    assert.equal(fieldManager('meshscope'), 'meshscope', 'the default instance applies as every earlier version did');
    assert.equal(fieldManager('canary'), 'meshscope-canary');
    assert.deepEqual(instanceNamed('canary'), { name: 'canary', labels: { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'canary' }, fieldManager: 'meshscope-canary' });
    assert.equal(meshscope.fieldManager, 'meshscope');
    const canarys = sidecar('a', {}, ['meshscope-canary'], 'canary');
    assert.equal(isOwn(canarys, instanceNamed('canary')), true);
    assert.equal(isOwn(canarys, meshscope), false);
    assert.equal(isOwn(canarys, instanceNamed('blue')), false);
    assert.equal(isOwn(sidecar('a', {}, ['meshscope'], 'canary'), instanceNamed('canary')), false, 'its label, another field manager: not its own');
    assert.equal(isOwn(sidecar('a', {}, ['meshscope-canary'], 'blue'), instanceNamed('canary')), false, 'its field manager, another instance label: not its own');
  });

  it('without an instance label (written before instances) a Sidecar is the default instance\'s', () => {
    const old = sidecar('a', {}, ['meshscope'], true);
    assert.equal(isOwn(old, meshscope), true);
    assert.equal(isOwn(old, instanceNamed('canary')), false);
    assert.equal(isOwn(sidecar('a', {}, ['meshscope-canary'], true), instanceNamed('canary')), false);
  });

  it('another install\'s Sidecar claims the group like any other owner, its instance named', () => {
    const blues = sidecar('meshscope-productpage-v1', { app: 'productpage', version: 'v1' }, ['meshscope-blue'], 'blue');
    assert.match(foreignClaim(pp, [blues], labels, instanceNamed('green'))!, /^Sidecar shop\/meshscope-productpage-v1 \(meshscope instance "blue"\) has the name meshscope would write; it is not this install's \(instance "green"\)$/);
    assert.equal(foreignClaim(pp, [blues], labels, instanceNamed('blue')), undefined);
    const old = sidecar('meshscope-productpage-v1', { app: 'productpage' }, ['meshscope'], true);
    assert.match(foreignClaim(pp, [old], labels, instanceNamed('green'))!, /\(meshscope instance "meshscope"\) has the name/);
    assert.match(foreignClaim(pp, [sidecar('x', { app: 'productpage' }, ['meshscope-blue'], 'blue')], labels, instanceNamed('green'))!, /Sidecar shop\/x \(meshscope instance "blue"\) already selects its pods/);
  });

  it('names the Sidecar that claims the group: same name, selecting its pods, or the namespace default', () => {
    assert.match(foreignClaim(pp, [sidecar('meshscope-productpage-v1', { x: 'y' }, ['kubectl-client-side-apply'])], labels, meshscope)!, /\(managed by kubectl-client-side-apply\) has the name meshscope would write/);
    assert.match(foreignClaim(pp, [sidecar('mine', { app: 'productpage' }, ['helm'])], labels, meshscope)!, /Sidecar shop\/mine \(managed by helm\) already selects its pods with \{app=productpage\}/);
    assert.match(foreignClaim(pp, [sidecar('default', undefined, ['kubectl'])], labels, meshscope)!, /namespace's own default Sidecar/);
    assert.equal(foreignClaim(pp, [sidecar('other', { app: 'ratings' }, ['kubectl']), sidecar('meshscope-x', { app: 'productpage' }, ['meshscope'], true)], labels, meshscope), undefined);
  });
});

describe('options', () => {
  it('reads --gateway-service NAME.NS:PORT and refuses anything else with the fix', () => {
    assert.deepEqual(parseGatewayService('meshscope-gateway.meshscope:15080'), gateway);
    assert.throws(() => parseGatewayService('meshscope-gateway:15080'), /--gateway-service "meshscope-gateway:15080": expected .*NAME.NAMESPACE:PORT/);
    assert.throws(() => parseGatewayService('gw.ns:0'), /NAME.NAMESPACE:PORT/);
  });

  it('reads --instance as a DNS label', () => {
    assert.equal(parseInstance('team-a'), 'team-a');
    for (const bad of ['Team', 'a.b', '-a', 'a-', '', 'x'.repeat(64)]) {
      assert.throws(() => parseInstance(bad), /^Error: --instance "[^"]*": not a DNS label; use 1-63 lowercase letters, digits and '-'.* e\.g\. --instance meshscope-canary$/);
    }
  });

  it('reads --always-visible as ns/host entries', () => {
    assert.deepEqual(parseAlwaysVisible('istio-system/*, ./*,default/db.default.svc.cluster.local,*/*.example.com'), ['istio-system/*', './*', 'default/db.default.svc.cluster.local', '*/*.example.com']);
    assert.throws(() => parseAlwaysVisible('istio-system'), /"istio-system" is not a Sidecar egress host; write NAMESPACE\/HOST/);
  });
});
