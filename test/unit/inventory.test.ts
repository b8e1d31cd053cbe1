import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Inventory, InventoryError, WatchedInventory, parseMesh } from '../../contracts/index.ts';

const MESH = `apiVersion: meshscope/v1
kind: Mesh
services:
  - name: reviews
    clusterIP: 10.96.0.12
    ports:
      - port: 9080
        targetPort: 8080
        protocol: http
    workloads:
      - name: reviews-v1-545db77b95-2xq7k
        address: 10.244.1.7
        labels: {app: reviews, version: v1}
  - name: ratings
    namespace: shop
    ports: [{port: 9080}, {port: 9443, protocol: grpc}]
    workloads:
      - {name: ratings-v1-0, address: 10.244.1.9}
  - name: loadgen
    ports: []
    workloads:
      - {name: loadgen-0, address: 10.244.1.10}
`;

test('parses mesh.yaml with defaults', () => {
  const spec = parseMesh(MESH);
  assert.equal(spec.clusterDomain, 'cluster.local');
  const reviews = spec.services[0];
  assert.equal(reviews.id, 'reviews.default');
  assert.equal(reviews.fqdn, 'reviews.default.svc.cluster.local');
  assert.deepEqual(reviews.ports, [{ port: 9080, targetPort: 8080, protocol: 'http' }]);
  assert.equal(reviews.workloads[0].id, 'reviews-v1-545db77b95-2xq7k.default');
  assert.equal(reviews.workloads[0].service, 'reviews.default');
  assert.deepEqual(spec.services[1].ports[0], { port: 9080, targetPort: 9080, protocol: 'http' });
});

test('every authority spelling resolves to the same service', () => {
  const inv = new Inventory(parseMesh(MESH));
  for (const a of ['reviews', 'reviews:9080', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local',
    'reviews.default.svc.cluster.local:9080', 'REVIEWS.default.svc.cluster.local.', '10.96.0.12', '10.96.0.12:9080']) {
    assert.equal(inv.resolveAuthority(a)?.service.id, 'reviews.default', a);
  }
  assert.equal(inv.resolveAuthority('reviews:9080')?.port?.targetPort, 8080);
  assert.equal(inv.resolveAuthority('reviews:1234')?.port, undefined);
  assert.equal(inv.resolveAuthority('ratings'), undefined, 'short names resolve only in the caller namespace');
  assert.equal(inv.resolveAuthority('ratings', 'shop')?.service.id, 'ratings.shop');
  assert.equal(inv.resolveAuthority('ratings:9443', 'shop')?.port?.protocol, 'grpc');
  assert.equal(inv.resolveAuthority('www.googleapis.com:443'), undefined);
  assert.equal(inv.resolveAuthority('169.254.169.254'), undefined);
});

test('workloads by address, id and node identity', () => {
  const inv = new Inventory(parseMesh(MESH));
  assert.equal(inv.workloadByAddress('10.244.1.9')?.id, 'ratings-v1-0.shop');
  assert.equal(inv.workloadByAddress('::ffff:10.244.1.9')?.id, 'ratings-v1-0.shop');
  assert.equal(inv.workloadForNode({ id: 'sidecar~10.244.1.7~reviews-v1-545db77b95-2xq7k.default~default.svc.cluster.local' })?.id,
    'reviews-v1-545db77b95-2xq7k.default');
  assert.equal(inv.workloadForNode({ id: 'sidecar~10.244.1.9~unknown.x~x.svc.cluster.local' })?.id, 'ratings-v1-0.shop');
  assert.equal(inv.workloadForNode({ id: 'loadgen-0.default' })?.id, 'loadgen-0.default');
  assert.equal(inv.workloadForNode({ id: 'anything', metadata: { NAME: 'ratings-v1-0', NAMESPACE: 'shop' } })?.id, 'ratings-v1-0.shop');
  assert.equal(inv.workloadForNode({ id: 'nobody' }), undefined);
  assert.deepEqual([...inv.workloads()].map((w) => w.id).length, 3);
});

test('domains cover every spelling with and without port', () => {
  const inv = new Inventory(parseMesh(MESH));
  const s = inv.service('reviews.default')!;
  const d = inv.domainsFor(s, s.ports[0]);
  for (const h of ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local:9080', '10.96.0.12:9080']) assert.ok(d.includes(h), h);
});

test('validation errors name the file, key path, line and a hint', () => {
  const cases: [string, RegExp][] = [
    [MESH.replace('targetPort: 8080', 'targetPrt: 8080'), /m\.yaml:8: services\[0\]\.ports\[0\]\.targetPrt: unknown key.*did you mean "targetPort"/],
    [MESH.replace('protocol: http\n', 'protocol: htp\n'), /services\[0\]\.ports\[0\]\.protocol: expected one of http \| http2 \| grpc \| tcp, got "htp".*did you mean "http"/],
    [MESH.replace('port: 9080\n        targetPort', 'port: 99999\n        targetPort'), /services\[0\]\.ports\[0\]\.port: expected an integer 1-65535/],
    [MESH.replace('address: 10.244.1.7', 'address: nowhere'), /services\[0\]\.workloads\[0\]\.address: expected the pod IP address/],
    [`${MESH}  - name: reviews\n    ports: []\n`, /services\[3\]\.name: service reviews\.default is declared twice/],
    [MESH.replace('10.244.1.9', '10.244.1.7'), /address 10\.244\.1\.7 is already the address of workload reviews-v1/],
    [MESH.replace('apiVersion: meshscope/v1', 'apiVersion: v2'), /apiVersion: expected "meshscope\/v1"/],
    ['services: [', /not valid YAML/],
    [MESH.replace('name: reviews\n', 'name: Reviews_1\n'), /services\[0\]\.name: expected a DNS label/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseMesh(text, 'm.yaml'), (err: unknown) => err instanceof InventoryError && re.test(err.message), re.source);
  }
});

test('watched file: a good edit applies, a bad edit keeps the last good inventory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-inv-'));
  const file = join(dir, 'mesh.yaml');
  writeFileSync(file, MESH);
  const logs: string[] = [];
  const watched = new WatchedInventory(file, (m) => logs.push(m)).start();
  try {
    assert.equal(watched.current.services.length, 3);
    const changed = once(watched, 'change');
    // Replace by rename, as editors and ConfigMap updates do.
    writeFileSync(join(dir, 'next.yaml'), MESH.replace('- {name: loadgen-0, address: 10.244.1.10}', '- {name: loadgen-0, address: 10.244.1.11}'));
    renameSync(join(dir, 'next.yaml'), file);
    await changed;
    assert.equal(watched.current.workloadByAddress('10.244.1.11')?.id, 'loadgen-0.default');
    const invalid = once(watched, 'invalid');
    writeFileSync(file, MESH.replace('kind: Mesh', 'kind: Mash'));
    const [err] = await invalid;
    assert.match((err as Error).message, /kind: expected "Mesh"/);
    assert.equal(watched.current.workloadByAddress('10.244.1.11')?.id, 'loadgen-0.default');
    assert.ok(logs.some((l) => l.includes('keeping the last good version')));
  } finally {
    watched.close();
  }
});
