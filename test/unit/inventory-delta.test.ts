// The inventory seams: versions derived by delta equal versions built whole,
// lookups follow the delta, earlier versions stay intact, the change set is
// exact, and the versioned maps fold without losing anything.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedInventorySource, Inventory, WatchedInventory, inventorySource, parseMesh, type MeshSpec, type Service, type Workload } from '../../contracts/index.ts';
import { VersionedMap } from '../../contracts/inventory/versioned-map.ts';

function workload(name: string, ns: string, address: string, service: string, labels: Record<string, string> = {}): Workload {
  return { id: `${name}.${ns}`, name, namespace: ns, address, labels, service };
}

function service(name: string, ns: string, n: number, ip: string, extra: Partial<Service> = {}): Service {
  const id = `${name}.${ns}`;
  const workloads = Array.from({ length: n }, (_, i) => workload(`${name}-${i}`, ns, `10.${ip}.0.${i + 1}`, id));
  return { id, name, namespace: ns, fqdn: `${id}.svc.cluster.local`, clusterIP: `10.96.${ip}.1`, ports: [{ port: 80, targetPort: 8080, protocol: 'http' }], workloads, ...extra };
}

const spec = (services: Service[]): MeshSpec => ({ clusterDomain: 'cluster.local', services });

test('a version derived by delta equals the version built whole, and lookups follow it', () => {
  const a = service('a', 'default', 2, '1');
  const b = service('b', 'shop', 1, '2');
  const c = service('c', 'shop', 1, '3');
  const v1 = new Inventory(spec([a, b]));
  const b2 = service('b', 'shop', 3, '2');
  const v2 = v1.apply({ services: [b2, c], removeServices: ['a.default'] });
  assert.equal(v2.version, new Inventory(spec([b2, c])).version);
  assert.notEqual(v2.version, v1.version);
  assert.deepEqual(v2.services.map((s) => s.id), ['b.shop', 'c.shop'], 'a replaced service keeps its place, a new one comes last');
  assert.equal(v2.service('a.default'), undefined);
  assert.equal(v2.resolveAuthority('a.default'), undefined);
  assert.equal(v2.resolveAuthority('10.96.1.1'), undefined);
  assert.equal(v2.workloadByAddress('10.1.0.1'), undefined);
  assert.equal(v2.workloadByAddress('10.2.0.3')?.id, 'b-2.shop');
  assert.equal(v2.resolveAuthority('c', 'shop')?.service.id, 'c.shop');
  assert.deepEqual([...v2.changedSince(v1)!].sort(), ['a.default', 'b.shop', 'c.shop']);
  // The earlier version is untouched.
  assert.equal(v1.service('a.default')?.id, 'a.default');
  assert.equal(v1.workloadByAddress('10.2.0.3'), undefined);
  assert.equal(v1.workloadByAddress('10.1.0.2')?.id, 'a-1.default');
  // Unrelated versions: no change set (consumers then compare everything).
  assert.equal(v1.changedSince(v2), undefined);
  assert.equal(new Inventory(spec([b2, c])).changedSince(v1), undefined);
});

test('a delta that changes nothing returns the same inventory; content, not identity, decides', () => {
  const v1 = new Inventory(spec([service('a', 'default', 2, '1')]));
  assert.equal(v1.apply({ services: [service('a', 'default', 2, '1')] }), v1);
  assert.equal(v1.apply({ removeServices: ['nope.default'] }), v1);
  assert.equal(v1.apply({}), v1);
});

test('a workload moving between services is indexed under its new owner; a pod listed under two services is indexed once', () => {
  const a = service('a', 'default', 1, '1');
  const b = service('b', 'default', 0, '2');
  const v1 = new Inventory(spec([a, b]));
  const moved = { ...a.workloads[0], service: 'b.default' };
  const v2 = v1.apply({ services: [{ ...a, workloads: [] }, { ...b, workloads: [moved] }] });
  assert.equal(v2.workloadByAddress('10.1.0.1')?.service, 'b.default');
  assert.equal(v2.workload('a-0.default')?.service, 'b.default');
  // Listed under a (endpoint) and b (its caller service): one workload, calling as b.
  const v3 = v2.apply({ services: [{ ...a, workloads: [moved] }] });
  assert.equal(v3.workloadByAddress('10.1.0.1')?.service, 'b.default');
  assert.deepEqual([...v3.workloads()].map((w) => w.id), ['a-0.default']);
  // Removing the endpoint listing keeps the caller's index entry.
  const v4 = v3.apply({ services: [{ ...a, workloads: [] }] });
  assert.equal(v4.workloadByAddress('10.1.0.1')?.service, 'b.default');
});

test('workload groups are callers, never destinations; ServiceEntry hosts resolve by their FQDN', () => {
  const group: Service = { ...service('loadgen', 'default', 1, '5'), ports: [], clusterIP: undefined, kind: 'WorkloadGroup' };
  const se: Service = { id: 'api.example.com.default', name: 'api.example.com', namespace: 'default', fqdn: 'api.example.com', clusterIP: '240.0.0.1', ports: [{ port: 443, targetPort: 443, protocol: 'tcp' }], workloads: [], kind: 'ServiceEntry' };
  const inv = new Inventory(spec([]));
  const next = inv.apply({ services: [group, se] });
  assert.equal(next.resolveAuthority('loadgen'), undefined);
  assert.equal(next.resolveAuthority('loadgen.default.svc.cluster.local'), undefined);
  assert.equal(next.workloadByAddress('10.5.0.1')?.service, 'loadgen.default');
  assert.equal(next.resolveAuthority('api.example.com:443')?.port?.port, 443);
  assert.equal(next.resolveAuthority('240.0.0.1')?.service.id, se.id);
});

test('authorization policies: by namespace, changed by delta, part of the version', () => {
  const v1 = new Inventory(spec([service('a', 'default', 1, '1')]));
  const p = { name: 'deny-all', namespace: 'default', action: 'ALLOW' as const, rules: [] };
  const v2 = v1.apply({ authorizationPolicies: [p] });
  assert.notEqual(v2.version, v1.version);
  assert.deepEqual(v2.policiesIn('default'), [p]);
  assert.equal(v2.policiesChangedSince(v1), true);
  assert.deepEqual([...v2.changedSince(v1)!], []);
  assert.equal(v2.apply({ authorizationPolicies: [{ ...p }] }), v2);
  const v3 = v2.apply({ removeAuthorizationPolicies: ['default/deny-all'] });
  assert.deepEqual(v3.policiesIn('default'), []);
  assert.equal(v3.version, v1.version);
  assert.equal(new Inventory({ ...spec([service('a', 'default', 1, '1')]), authorizationPolicies: [p] }).version, v2.version);
});

test('many deltas in a row (folding the overlay) agree with a whole build', () => {
  const n = 300;
  const all = Array.from({ length: n }, (_, i) => service(`s${i}`, 'default', 1, String(i % 250)));
  let inv = new Inventory(spec(all));
  const current = new Map(all.map((s) => [s.id, s]));
  for (let step = 0; step < 400; step++) {
    const i = (step * 7) % n;
    const id = `s${i}.default`;
    if (step % 5 === 4) {
      inv = inv.apply({ removeServices: [id] });
      current.delete(id);
    } else {
      const s = service(`s${i}`, 'default', 1 + (step % 3), String(i % 250));
      inv = inv.apply({ services: [s] });
      current.set(id, s);
    }
  }
  const whole = new Inventory(spec([...current.values()]));
  assert.equal(inv.version, whole.version);
  assert.deepEqual(inv.services.map((s) => s.id).sort(), [...current.keys()].sort());
  for (const s of current.values()) assert.deepEqual(inv.service(s.id), s);
});

test('VersionedMap: versions are independent; size and iteration survive folds', () => {
  let m = VersionedMap.of<number, string>([[1, 'a'], [2, 'b']]);
  const first = m;
  m = m.with([[3, 'c'], [1, undefined], [9, undefined]]);
  assert.deepEqual([...m], [[2, 'b'], [3, 'c']]);
  assert.equal(m.size, 2);
  assert.deepEqual([...first], [[1, 'a'], [2, 'b']]);
  for (let i = 0; i < 500; i++) m = m.with([[100 + i, `v${i}`]]);
  assert.equal(m.size, 502);
  assert.equal(m.get(350), 'v250');
  assert.equal(m.get(1), undefined);
  assert.equal(first.get(1), 'a');
});

test('a plain Inventory becomes a fixed source; set() announces a new version with the previous one', () => {
  const v1 = new Inventory(spec([service('a', 'default', 1, '1')]));
  const src = inventorySource(v1) as FixedInventorySource;
  assert.ok(src instanceof FixedInventorySource);
  const seen: string[] = [];
  src.on('change', (next, previous) => seen.push(`${previous.version}->${next.version}`));
  const v2 = v1.apply({ services: [service('b', 'default', 1, '2')] });
  assert.equal(src.set(v2), true);
  assert.equal(src.set(v2), false);
  assert.deepEqual(seen, [`${v1.version}->${v2.version}`]);
  assert.equal(src.current, v2);
});

test('a mesh.yaml edit arrives as a delta of the services whose content changed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-delta-'));
  const file = join(dir, 'mesh.yaml');
  const yaml = (ip: string) =>
    `apiVersion: meshscope/v1\nkind: Mesh\nservices:\n  - {name: a, ports: [{port: 80}], workloads: [{name: a-0, address: ${ip}}]}\n  - {name: b, ports: [{port: 80}], workloads: [{name: b-0, address: 10.0.0.2}]}\n`;
  writeFileSync(file, yaml('10.0.0.1'));
  const watched = new WatchedInventory(file, () => {});
  const before = watched.current;
  writeFileSync(file, yaml('10.0.0.9'));
  assert.equal(watched.reload(), true);
  assert.deepEqual([...watched.current.changedSince(before)!], ['a.default']);
  assert.equal(watched.current.version, new Inventory(parseMesh(yaml('10.0.0.9'))).version);
  assert.equal(watched.reload(), false, 'no change, no new version');
  watched.close();
});

test('deltaSince: a copy built from spec() follows every derived version by its delta alone', () => {
  const p = { name: 'allow-shop', namespace: 'shop', action: 'ALLOW' as const, rules: [] };
  const q = { name: 'deny-all', namespace: 'default', action: 'DENY' as const, rules: [] };
  let main = new Inventory({ ...spec([service('a', 'default', 2, '1'), service('b', 'shop', 1, '2')]), authorizationPolicies: [p] });
  // The other side (a thread) starts from a structured clone of the spec, as postMessage would give it.
  let copy = new Inventory(structuredClone(main.spec()));
  assert.equal(copy.version, main.version);
  const steps = [
    { services: [service('c', 'shop', 1, '3')] },
    { services: [service('b', 'shop', 4, '2')], removeServices: ['a.default'] },
    { authorizationPolicies: [q] },
    { removeAuthorizationPolicies: ['shop/allow-shop'], services: [service('a', 'default', 1, '1')] },
  ];
  for (const step of steps) {
    const next = main.apply(step);
    const delta = next.deltaSince(main);
    assert.ok(delta, 'a derived version tells its delta');
    copy = copy.apply(structuredClone(delta));
    main = next;
    assert.equal(copy.version, main.version);
    assert.deepEqual(copy.services.map((s) => s.id).sort(), main.services.map((s) => s.id).sort());
    assert.deepEqual(copy.authorizationPolicies.map((x) => x.name).sort(), main.authorizationPolicies.map((x) => x.name).sort());
  }
  assert.equal(copy.workloadByAddress('10.2.0.4')?.id, 'b-3.shop');
  // Unrelated versions: no delta; the whole spec is what rebuilds it.
  assert.equal(new Inventory(spec([service('z', 'default', 1, '9')])).deltaSince(main), undefined);
  assert.deepEqual(main.deltaSince(main), { services: [], removeServices: [] });
});
