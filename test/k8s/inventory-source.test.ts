// The Kubernetes inventory source against a real kube-apiserver (+ etcd):
// initial list, live changes within a second, namespace selection, Istio
// ServiceEntry and AuthorizationPolicy, and a restarted API server → the
// informers reconnect (relisting when their resourceVersion expired) and
// nothing is lost or dropped for a moment.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAnalyzer } from '../../analyzer/app.ts';
import type { Inventory } from '../../contracts/index.ts';
import { KubernetesInventorySource } from '../../contracts/inventory/kubernetes/index.ts';
import { parseLabelSelector } from '../../contracts/inventory/kubernetes/namespaces.ts';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { waitUntil } from '../harness/wait.ts';
import { createNamespace, createPod, createServiceAccount, putEndpointSlice, putService } from '../harness/k8s/workloads.ts';

let api: ApiServer;
let source: KubernetesInventorySource;
const logs: string[] = [];

/** Resolves once `pred` holds for the source's inventory; fails after `ms` naming what was awaited. */
async function until(what: string, pred: (inv: Inventory) => boolean, ms = 1_000): Promise<number> {
  const t0 = Date.now();
  if (pred(source.current)) return 0;
  return new Promise((resolve, reject) => {
    const onChange = (next: Inventory) => {
      if (!pred(next)) return;
      clearTimeout(timer);
      source.off('change', onChange);
      resolve(Date.now() - t0);
    };
    const timer = setTimeout(() => {
      source.off('change', onChange);
      reject(new Error(`${what}: not in the inventory within ${ms} ms; services: ${source.current.services.map((s) => s.id).join(', ')}`));
    }, ms);
    source.on('change', onChange);
  });
}

const ids = (inv: Inventory) => inv.services.map((s) => s.id).sort();

before(async () => {
  api = await startApiServer();
  await createNamespace(api, 'shop', { mesh: 'on' });
  await createNamespace(api, 'other');
  await createNamespace(api, 'istio-system');
  await createServiceAccount(api, 'shop', 'reviews');
  await putService(api, { namespace: 'shop', name: 'reviews', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 8080 }] });
  // A second Service selecting the v2 pods: they are endpoints of both, and call as `reviews` (their app label).
  await putService(api, { namespace: 'shop', name: 'reviews-v2', selector: { app: 'reviews', version: 'v2' }, ports: [{ name: 'http', port: 9080, targetPort: 8080 }] });
  await putService(api, { namespace: 'shop', name: 'ratings', selector: { app: 'ratings' }, ports: [{ name: 'grpc-api', port: 9090, targetPort: 'grpc' }] });
  await putService(api, { namespace: 'other', name: 'elsewhere', selector: { app: 'elsewhere' }, ports: [{ port: 80 }] });
  await putService(api, { namespace: 'istio-system', name: 'istiod', selector: { app: 'istiod' }, ports: [{ name: 'grpc-xds', port: 15010 }] });
  const v1 = { namespace: 'shop', name: 'reviews-v1-6d8f9-abcde', labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '6d8f9' }, ip: '10.244.0.11', serviceAccount: 'reviews', owner: { kind: 'ReplicaSet', name: 'reviews-v1-6d8f9' } };
  const v2 = { namespace: 'shop', name: 'reviews-v2-7c4b1-fghij', labels: { app: 'reviews', version: 'v2', 'pod-template-hash': '7c4b1' }, ip: '10.244.0.12', serviceAccount: 'reviews', owner: { kind: 'ReplicaSet', name: 'reviews-v2-7c4b1' } };
  const ratings = { namespace: 'shop', name: 'ratings-0', labels: { app: 'ratings' }, ip: '10.244.0.13', owner: { kind: 'StatefulSet', name: 'ratings' } };
  const loadgen = { namespace: 'shop', name: 'loadgen-5f5f5-zzzzz', labels: { run: 'loadgen', 'pod-template-hash': '5f5f5' }, ip: '10.244.0.14', owner: { kind: 'ReplicaSet', name: 'loadgen-5f5f5' } };
  for (const p of [v1, v2, ratings, loadgen]) await createPod(api, p);
  await createPod(api, { namespace: 'other', name: 'elsewhere-0', labels: { app: 'elsewhere' }, ip: '10.244.1.2' });
  await putEndpointSlice(api, { namespace: 'shop', name: 'reviews' }, [v1, v2], [{ name: 'http', port: 8080 }]);
  await putEndpointSlice(api, { namespace: 'shop', name: 'reviews-v2' }, [v2], [{ name: 'http', port: 8080 }]);
  await putEndpointSlice(api, { namespace: 'shop', name: 'ratings' }, [ratings], [{ name: 'grpc-api', port: 7070 }]);
  await api.apply(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments-api, namespace: shop}
spec:
  hosts: [api.payments.example.com]
  addresses: [240.0.0.10]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-readers, namespace: shop}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/reviews]}}]
    to: [{operation: {methods: [GET], paths: [/ratings/*]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: mesh-deny-debug, namespace: istio-system}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: [/debug*]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: not-ours, namespace: other}
spec: {}
`);
  source = await KubernetesInventorySource.start({
    kubeconfig: api.kubeconfig,
    namespaceSelectors: [parseLabelSelector('mesh=on')],
    log: (l) => logs.push(l),
  });
});

after(async () => {
  source?.close();
  await api?.stop();
});

test('initial list: services, pods as callers, ServiceEntry, AuthorizationPolicies; unselected and system namespaces left out', () => {
  const inv = source.current;
  assert.deepEqual(ids(inv), ['api.payments.example.com.shop', 'loadgen.shop', 'ratings.shop', 'reviews-v2.shop', 'reviews.shop']);
  const reviews = inv.service('reviews.shop')!;
  assert.equal(reviews.fqdn, 'reviews.shop.svc.cluster.local');
  assert.match(reviews.clusterIP ?? '', /^10\.96\./);
  assert.deepEqual(reviews.ports, [{ port: 9080, targetPort: 8080, protocol: 'http' }]);
  assert.deepEqual(reviews.workloads.map((w) => w.address), ['10.244.0.11', '10.244.0.12']);
  const v2 = inv.workloadByAddress('10.244.0.12')!;
  assert.equal(v2.id, 'reviews-v2-7c4b1-fghij.shop');
  assert.equal(v2.service, 'reviews.shop', 'selected by reviews and reviews-v2: calls as its app label');
  assert.equal(v2.serviceAccount, 'reviews');
  assert.deepEqual(v2.owner, { kind: 'Deployment', name: 'reviews-v2' });
  assert.deepEqual(v2.labels, { app: 'reviews', version: 'v2', 'pod-template-hash': '7c4b1' });
  assert.deepEqual(inv.service('reviews-v2.shop')!.workloads.map((w) => w.id), ['reviews-v2-7c4b1-fghij.shop'], 'still an endpoint of reviews-v2');
  // A named targetPort is resolved through the EndpointSlice; grpc from the port name.
  assert.deepEqual(inv.service('ratings.shop')!.ports, [{ port: 9090, targetPort: 7070, protocol: 'grpc' }]);
  assert.deepEqual(inv.workloadByAddress('10.244.0.13')?.owner, { kind: 'StatefulSet', name: 'ratings' });
  assert.equal(inv.workloadByAddress('10.244.0.13')?.serviceAccount, 'default');
  // The load generator no Service selects is a caller all the same.
  const loadgen = inv.service('loadgen.shop')!;
  assert.equal(loadgen.kind, 'WorkloadGroup');
  assert.deepEqual(loadgen.ports, []);
  assert.equal(inv.workloadByAddress('10.244.0.14')?.service, 'loadgen.shop');
  assert.equal(inv.resolveAuthority('loadgen', 'shop'), undefined, 'nothing calls a workload group');
  const se = inv.service('api.payments.example.com.shop')!;
  assert.equal(se.kind, 'ServiceEntry');
  assert.equal(se.fqdn, 'api.payments.example.com');
  assert.equal(se.clusterIP, '240.0.0.10');
  assert.deepEqual(se.ports, [{ port: 443, targetPort: 443, protocol: 'tcp' }]);
  assert.equal(inv.resolveAuthority('api.payments.example.com:443')?.service.id, se.id);
  // Policies: the selected namespace and the root namespace, not `other`.
  const policies = inv.authorizationPolicies.map((p) => `${p.namespace}/${p.name}`).sort();
  assert.deepEqual(policies, ['istio-system/mesh-deny-debug', 'shop/ratings-readers']);
  assert.deepEqual(inv.policiesIn('shop')[0], {
    name: 'ratings-readers',
    namespace: 'shop',
    action: 'ALLOW',
    selector: { app: 'ratings' },
    rules: [{ from: [{ principals: ['cluster.local/ns/shop/sa/reviews'] }], to: [{ methods: ['GET'], paths: ['/ratings/*'] }] }],
  });
  assert.equal(inv.policiesIn('istio-system')[0].action, 'DENY');
});

test('live: a new pod, a changed label and a deleted service reach the inventory within a second', async () => {
  await createPod(api, { namespace: 'shop', name: 'reviews-v1-6d8f9-new01', labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '6d8f9' }, ip: '10.244.0.21', owner: { kind: 'ReplicaSet', name: 'reviews-v1-6d8f9' } });
  const added = await until('new pod', (inv) => inv.workloadByAddress('10.244.0.21')?.service === 'reviews.shop');
  // The load generator takes the ratings label: it now calls as ratings, and its group is gone.
  const patch = await api.request('PATCH', '/api/v1/namespaces/shop/pods/loadgen-5f5f5-zzzzz', { metadata: { labels: { app: 'ratings' } } }, 'application/merge-patch+json');
  assert.equal(patch.status, 200);
  const relabelled = await until('label change', (inv) => inv.workloadByAddress('10.244.0.14')?.service === 'ratings.shop' && !inv.service('loadgen.shop'));
  assert.equal(source.current.workloadByAddress('10.244.0.14')?.labels.app, 'ratings');
  const del = await api.request('DELETE', '/api/v1/namespaces/shop/services/reviews-v2');
  assert.equal(del.status, 200);
  const deleted = await until('deleted service', (inv) => !inv.service('reviews-v2.shop'));
  // Each version was a delta: the consumers can tell what changed.
  const before = source.current;
  await createPod(api, { namespace: 'shop', name: 'ratings-1', labels: { app: 'ratings' }, ip: '10.244.0.22' });
  await until('second ratings pod', (inv) => inv.workloadByAddress('10.244.0.22') !== undefined);
  assert.deepEqual([...(source.current.changedSince(before) ?? ['(unknown)'])], ['ratings.shop']);
  logs.push(`live latencies: add ${added} ms, relabel ${relabelled} ms, delete ${deleted} ms`);
  for (const ms of [added, relabelled, deleted]) assert.ok(ms < 1_000);
});

test('namespace selector: labelling a namespace brings it in, unlabelling takes it out', async () => {
  assert.equal(source.current.service('elsewhere.other'), undefined);
  await api.request('PATCH', '/api/v1/namespaces/other', { metadata: { labels: { mesh: 'on' } } }, 'application/merge-patch+json');
  await until('namespace other selected', (inv) => inv.service('elsewhere.other') !== undefined && inv.workloadByAddress('10.244.1.2') !== undefined);
  assert.ok(source.current.policiesIn('other').some((p) => p.name === 'not-ours'));
  await api.request('PATCH', '/api/v1/namespaces/other', { metadata: { labels: { mesh: null } } }, 'application/merge-patch+json');
  await until('namespace other left out', (inv) => inv.service('elsewhere.other') === undefined && inv.workloadByAddress('10.244.1.2') === undefined);
  assert.equal(source.current.policiesIn('other').length, 0);
});

test('a restarted API server: watches reconnect, changes made meanwhile arrive, nothing vanishes on the way', async () => {
  const removed: string[] = [];
  const watchRemovals = (next: Inventory, previous: Inventory) => {
    for (const s of previous.services) if (!next.service(s.id)) removed.push(s.id);
  };
  source.on('change', watchRemovals);
  const statsBefore = source.stats();
  await api.restart();
  await createPod(api, { namespace: 'shop', name: 'reviews-v1-6d8f9-after', labels: { app: 'reviews', version: 'v1', 'pod-template-hash': '6d8f9' }, ip: '10.244.0.31' });
  // Reconnecting backs off up to 5 s: allow for that, not for a relist to lose anything.
  await until('pod created after the restart', (inv) => inv.workloadByAddress('10.244.0.31') !== undefined, 15_000);
  // The new API server's watch cache starts after our resourceVersions: 410 Gone, so every informer relists
  // (each on its own backoff schedule: wait for the last one).
  const relisted = () => Object.entries(source.stats().lists).every(([p, n]) => n > statsBefore.lists[p]);
  await waitUntil(relisted, `every informer relisted (${logs.join('; ')})`, 15_000);
  assert.ok(logs.some((l) => l.includes('410 Gone')));
  source.off('change', watchRemovals);
  assert.deepEqual(removed, [], 'no service left the inventory because of the restart');
  // Nothing learnt is lost: the followed inventory equals a fresh list of the same cluster.
  const fresh = await KubernetesInventorySource.start({ kubeconfig: api.kubeconfig, namespaceSelectors: [parseLabelSelector('mesh=on')], log: () => {} });
  try {
    assert.equal(source.current.version, fresh.current.version, `followed: ${ids(source.current)}; fresh: ${ids(fresh.current)}`);
  } finally {
    fresh.close();
  }
});

test('meshscope analyzer --kubeconfig: the analyzer, its xDS server and its gateway follow the cluster', async () => {
  const data = mkdtempSync(join(tmpdir(), 'meshscope-k8s-analyzer-'));
  const running = await startAnalyzer({ kubernetes: { kubeconfig: api.kubeconfig, namespaceSelectors: [parseLabelSelector('mesh=on')] }, data, gatewayPort: 0 });
  try {
    assert.ok(running.analyzer.inventory.service('reviews.shop'));
    assert.ok(running.xds.cache.inventory.service('reviews.shop'));
    await putService(api, { namespace: 'shop', name: 'details', selector: { app: 'details' }, ports: [{ name: 'http', port: 9080 }] });
    await waitUntil(() => running.analyzer.inventory.service('details.shop') !== undefined && running.xds.cache.inventory.service('details.shop') !== undefined, 'details in the analyzer and xDS inventories', 2_000);
  } finally {
    await running.close();
    rmSync(data, { recursive: true, force: true });
  }
});

test('a cluster without Istio: the inventory is read without ServiceEntries and policies', async () => {
  const bare = await startApiServer({ istioCrds: false });
  const lines: string[] = [];
  try {
    await createNamespace(bare, 'plain');
    await putService(bare, { namespace: 'plain', name: 'web', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] });
    const src = await KubernetesInventorySource.start({ kubeconfig: bare.kubeconfig, log: (l) => lines.push(l) });
    try {
      assert.ok(src.current.service('web.plain'));
      assert.equal(src.current.authorizationPolicies.length, 0);
      assert.ok(lines.some((l) => l.includes('/apis/networking.istio.io/v1/serviceentries is not served')), lines.join('\n'));
    } finally {
      src.close();
    }
  } finally {
    await bare.stop();
  }
});
