// ProxyBytesMeter sums what proxies share once (the full mesh's clusters and
// endpoints); each figure must still equal the plain sum of every resource the
// proxy is pushed, whatever was measured before it with the same meter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MeshCache } from '../../xds-server/cache/mesh-cache.ts';
import { ProxyBytesMeter } from '../../xds-server/cache/proxy-bytes.ts';
import { PUSH_ORDER, TypeUrl } from '../../xds-server/types.ts';
import { inventoryOf, svc } from './support/mesh.ts';

const gateway = { host: '127.0.0.1', port: 15080 };
const als = { host: '127.0.0.1', port: 15091 };

function plainBytes(inventory: ReturnType<typeof inventoryOf>, workload: string, scope: string[] | undefined, lazy: boolean) {
  const cache = new MeshCache({ inventory, gateway, accessLogService: als, lazy });
  const w = inventory.workload(workload)!;
  if (scope) cache.scope.setWorkloadScope(w.id, scope);
  const node = cache.attach({ id: `sidecar~${w.address}~${w.id}~${w.namespace}.svc.cluster.local`, metadata: { NAME: w.name, NAMESPACE: w.namespace }, profile: 'envoy' });
  let n = 0;
  for (const type of PUSH_ORDER) for (const r of node.resources(type).values()) n += r.any.value.length;
  const clusters = node.resources(TypeUrl.Cluster).size;
  node.detach();
  return { n, clusters };
}

test('scoped and full bytes equal the plain sum of every pushed resource, for every workload and scope, measured in any order', () => {
  // Enough services that the full mesh's maps are "big" (over the direct-sum threshold).
  const services = Array.from({ length: 80 }, (_, i) => svc(`s${i}`, { port: 8000 + (i % 5), workloads: 1 + (i % 3), seed: i + 1 }));
  const inventory = inventoryOf(services);
  const meter = new ProxyBytesMeter(inventory, { gateway, accessLogService: als });
  const cases: Array<[string, string[]]> = [
    ['s0-0.default', []],
    ['s1-0.default', ['s2.default', 's3.default']],
    ['s1-1.default', ['s2.default']],
    ['s2-2.default', Array.from({ length: 79 }, (_, i) => `s${i + 1}.default`)],
    ['s0-0.default', ['s5.default']],
  ];
  for (const [workload, scope] of cases) {
    const got = meter.measure(workload, scope);
    const scoped = plainBytes(inventory, workload, scope, true);
    const full = plainBytes(inventory, workload, undefined, false);
    assert.equal(got.bytesScoped, scoped.n, `${workload} scoped to ${scope.length}`);
    assert.equal(got.clusters, scoped.clusters);
    assert.equal(got.bytesFull, full.n, `${workload} full`);
  }
});

test('a meter that takes over an earlier inventory\'s encodings measures the new inventory exactly', () => {
  const before = Array.from({ length: 80 }, (_, i) => svc(`s${i}`, { port: 8000 + (i % 5), workloads: 1 + (i % 3), seed: i + 1 }));
  const old = new ProxyBytesMeter(inventoryOf(before), { gateway, accessLogService: als });
  for (const w of ['s0-0.default', 's1-0.default', 's2-2.default']) old.measure(w, ['s3.default', 's4.default']);
  // s3 gets another port, s4 another workload, s5 goes, s80 comes; the rest are the same.
  const after = before.filter((s) => s.name !== 's5').map((s) =>
    s.name === 's3' ? svc('s3', { port: 9999, workloads: 1, seed: 4 }) : s.name === 's4' ? svc('s4', { port: 8004, workloads: 3, seed: 5 }) : s,
  );
  after.push(svc('s80', { port: 8080, workloads: 1, seed: 81 }));
  const inventory = inventoryOf(after);
  const meter = new ProxyBytesMeter(inventory, { gateway, accessLogService: als }, old);
  for (const [workload, scope] of [['s0-0.default', ['s3.default', 's4.default']], ['s1-0.default', ['s80.default', 's4.default']], ['s2-2.default', []]] as Array<[string, string[]]>) {
    const got = meter.measure(workload, scope);
    assert.equal(got.bytesScoped, plainBytes(inventory, workload, scope, true).n, `${workload} scoped`);
    assert.equal(got.bytesFull, plainBytes(inventory, workload, undefined, false).n, `${workload} full`);
  }
  assert.notEqual(meter.measure('s0-0.default', []).bytesFull, old.measure('s0-0.default', []).bytesFull, 'the mesh changed size');
});
