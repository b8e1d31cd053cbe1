// Targeted push: who hears of a change, of which types, and what is shared.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeshCache } from '../../xds-server/cache/mesh-cache.ts';
import { TypeUrl, type NodeHandle } from '../../xds-server/types.ts';
import { inventoryOf, svc, type TestService } from './support/mesh.ts';
import { envoyNode, grpcNode, settle } from './support/nodes.ts';

const base = (): TestService[] => [svc('a', { seed: 1 }), svc('b', { seed: 2 }), svc('x', { seed: 3, workloads: 2 }), svc('y', { seed: 4 })];

/** Records each notification a handle receives. */
function record(h: NodeHandle): string[][] {
  const log: string[][] = [];
  h.onChange((types) => log.push([...types].map((t) => t.split('.').at(-1)!).sort()));
  return log;
}

function versions(h: NodeHandle, type: TypeUrl): Record<string, string> {
  return Object.fromEntries([...h.resources(type)].map(([n, r]) => [n, r.version]));
}

describe('MeshCache targeted push', () => {
  it('pushes a scope change only to that source, without LDS', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()), gateway: { host: '127.0.0.1', port: 1 } });
    const a = cache.attach(envoyNode('a-0.default'));
    const b = cache.attach(envoyNode('b-0.default'));
    const [la, lb] = [record(a), record(b)];
    cache.scope.setServiceScope('a.default', ['x.default']);
    await settle();
    assert.deepEqual(la, [['Cluster', 'ClusterLoadAssignment', 'RouteConfiguration']]);
    assert.deepEqual(lb, []);
    assert.ok(a.resources(TypeUrl.Cluster).has('outbound|8080||x.default.svc.cluster.local'));
    assert.ok(!b.resources(TypeUrl.Cluster).has('outbound|8080||x.default.svc.cluster.local'));
    cache.scope.setServiceScope('a.default', ['x.default']);
    await settle();
    assert.equal(la.length, 1, 'setting the same scope again pushes nothing');
  });

  it('pushes an endpoint change as EDS only, to the nodes whose scope holds the service, changing only its assignment', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()) });
    cache.scope.setServiceScope('a.default', ['x.default', 'y.default']);
    cache.scope.setServiceScope('b.default', ['y.default']);
    const a = cache.attach(envoyNode('a-0.default'));
    const b = cache.attach(envoyNode('b-0.default'));
    const g = cache.attach(grpcNode('y-0.default'));
    g.subscribed(TypeUrl.Listener, new Set(['y']));
    await settle();
    const [la, lb, lg] = [record(a), record(b), record(g)];
    const before = { eds: versions(a, TypeUrl.Endpoint), cds: versions(a, TypeUrl.Cluster), rds: versions(a, TypeUrl.Route) };

    const next = base();
    next[2].workloads!.push({ name: 'x-9', address: '10.0.3.99' });
    cache.setInventory(inventoryOf(next));
    await settle();
    assert.deepEqual(la, [['ClusterLoadAssignment']]);
    assert.deepEqual(lb, []);
    assert.deepEqual(lg, []);
    const after = versions(a, TypeUrl.Endpoint);
    const xName = 'outbound|8080||x.default.svc.cluster.local';
    const yName = 'outbound|8080||y.default.svc.cluster.local';
    assert.notEqual(after[xName], before.eds[xName]);
    assert.equal(after[yName], before.eds[yName]);
    assert.deepEqual(versions(a, TypeUrl.Cluster), before.cds);
    assert.deepEqual(versions(a, TypeUrl.Route), before.rds);
  });

  it('moves a proxyless client to a changed endpoint with EDS only', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()) });
    const g = cache.attach(grpcNode('a-0.default'));
    g.subscribed(TypeUrl.Listener, new Set(['x']));
    await settle();
    const log = record(g);
    const next = base();
    next[2].workloads!.pop();
    cache.setInventory(inventoryOf(next));
    await settle();
    assert.deepEqual(log, [['ClusterLoadAssignment']]);
  });

  it('overrides one workload and returns it to its service scope', async () => {
    const services = base();
    services[0].workloads!.push({ name: 'a-1', address: '10.0.1.50' });
    const cache = new MeshCache({ inventory: inventoryOf(services) });
    cache.scope.setServiceScope('a.default', ['x.default']);
    const a0 = cache.attach(envoyNode('a-0.default'));
    const a1 = cache.attach(envoyNode('a-1.default'));
    const [l0, l1] = [record(a0), record(a1)];
    cache.scope.setWorkloadScope('a-1.default', ['y.default']);
    await settle();
    assert.deepEqual(l0, []);
    assert.equal(l1.length, 1);
    assert.ok(a1.resources(TypeUrl.Endpoint).has('outbound|8080||y.default.svc.cluster.local'));
    assert.ok(!a1.resources(TypeUrl.Endpoint).has('outbound|8080||x.default.svc.cluster.local'));
    cache.scope.setWorkloadScope('a-1.default', undefined);
    await settle();
    assert.deepEqual([...a1.resources(TypeUrl.Endpoint).keys()], ['outbound|8080||x.default.svc.cluster.local']);
    assert.deepEqual(l0, []);
  });

  it('ignores scope entries for absent services until the inventory adds them', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()) });
    cache.scope.setServiceScope('a.default', ['x.default', 'later.default']);
    const a = cache.attach(envoyNode('a-0.default'));
    assert.deepEqual([...a.resources(TypeUrl.Endpoint).keys()], ['outbound|8080||x.default.svc.cluster.local']);
    const log = record(a);
    cache.setInventory(inventoryOf([...base(), svc('later', { seed: 9 })]));
    await settle();
    assert.deepEqual(log, [['Cluster', 'ClusterLoadAssignment', 'RouteConfiguration']]);
    assert.ok(a.resources(TypeUrl.Cluster).has('outbound|8080||later.default.svc.cluster.local'));
  });

  it('shares the encoded bytes between nodes of the same scope', () => {
    const services = base();
    services[0].workloads!.push({ name: 'a-1', address: '10.0.1.50' });
    const cache = new MeshCache({ inventory: inventoryOf(services) });
    cache.scope.setServiceScope('a.default', ['x.default']);
    cache.scope.setServiceScope('b.default', ['x.default']);
    const a0 = cache.attach(envoyNode('a-0.default'));
    const a1 = cache.attach(envoyNode('a-1.default'));
    const b0 = cache.attach(envoyNode('b-0.default'));
    assert.equal(a0.resources(TypeUrl.Route).get('outbound')!.any, a1.resources(TypeUrl.Route).get('outbound')!.any);
    assert.equal(a0.resources(TypeUrl.Route).get('outbound')!.any, b0.resources(TypeUrl.Route).get('outbound')!.any, 'same scope, same namespace: one route configuration');
    const x = 'outbound|8080||x.default.svc.cluster.local';
    assert.equal(a0.resources(TypeUrl.Cluster).get(x)!.any, b0.resources(TypeUrl.Cluster).get(x)!.any);
    assert.equal(a0.resources(TypeUrl.Endpoint).get(x)!.any, b0.resources(TypeUrl.Endpoint).get(x)!.any);
    assert.notEqual(a0.resources(TypeUrl.Listener).get('egress')!.any, a1.resources(TypeUrl.Listener).get('egress')!.any, 'the egress listener names its own workload');
    assert.equal(cache.viewCount, 1);
  });

  it('gives every proxy the whole mesh in --no-lazy mode, whatever the scope', () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()), lazy: false });
    cache.scope.setServiceScope('a.default', ['x.default']);
    const a = cache.attach(envoyNode('a-0.default'));
    assert.equal(a.resources(TypeUrl.Endpoint).size, 4);
    assert.equal(a.resources(TypeUrl.Cluster).size, 5, '4 outbound + 1 inbound');
  });

  it('stays silent on an inventory change that changes nothing for the node, and after detach', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()) });
    cache.scope.setServiceScope('a.default', ['x.default']);
    const a = cache.attach(envoyNode('a-0.default'));
    const log = record(a);
    const next = base();
    next[3].workloads!.push({ name: 'y-9', address: '10.0.4.99' });
    cache.setInventory(inventoryOf(next));
    await settle();
    assert.deepEqual(log, []);
    a.detach();
    assert.equal(cache.viewCount, 0);
    cache.scope.setServiceScope('a.default', ['y.default']);
    await settle();
    assert.deepEqual(log, []);
  });

  it('knows a node whose workload appears in a later inventory', async () => {
    const cache = new MeshCache({ inventory: inventoryOf(base()) });
    cache.scope.setServiceScope('late.default', ['x.default']);
    const h = cache.attach(envoyNode('late-0.default'));
    assert.equal(h.workload, undefined);
    const log = record(h);
    cache.setInventory(inventoryOf([...base(), svc('late', { seed: 8 })]));
    await settle();
    assert.equal(h.workload, 'late-0.default');
    assert.equal(h.service, 'late.default');
    assert.deepEqual(log, [['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration']]);
    cache.scope.setServiceScope('late.default', []);
    await settle();
    assert.equal(log.length, 2, 'the scope index follows the node to its new workload');
  });
});
