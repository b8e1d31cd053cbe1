// The endpoints the gateway keeps connections to, followed by inventory delta:
// always the same set a whole recount gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inventory, type Service } from '../../contracts/index.ts';
import { EndpointKeys } from '../../lazy-gateway/endpoint-keys.ts';

const svc = (name: string, addresses: string[], ports = [8080]): Service => ({
  id: `${name}.default`,
  name,
  namespace: 'default',
  fqdn: `${name}.default.svc.cluster.local`,
  ports: ports.map((p) => ({ port: 80, targetPort: p, protocol: 'http' as const })),
  workloads: addresses.map((address, i) => ({ id: `${name}-${i}.default`, name: `${name}-${i}`, namespace: 'default', address, labels: {}, service: `${name}.default` })),
});

const whole = (inv: Inventory) => new EndpointKeys(inv).keys;

test('deltas keep the key set equal to a whole recount; a pod behind two services stays until both drop it', () => {
  const v1 = new Inventory({ clusterDomain: 'cluster.local', services: [svc('a', ['10.0.0.1', '10.0.0.2']), svc('b', ['10.0.0.2'])] });
  const keys = new EndpointKeys(v1);
  const v2 = v1.apply({ services: [svc('a', ['10.0.0.1'])] });
  assert.deepEqual([...keys.follow(v2, v1)].sort(), ['10.0.0.1:8080', '10.0.0.2:8080'], '10.0.0.2 is still behind b');
  const v3 = v2.apply({ removeServices: ['b.default'], services: [svc('c', ['10.0.0.3'], [9090, 9091])] });
  assert.deepEqual([...keys.follow(v3, v2)].sort(), ['10.0.0.1:8080', '10.0.0.3:9090', '10.0.0.3:9091']);
  assert.deepEqual([...keys.keys].sort(), [...whole(v3)].sort());
  // An unrelated version (no delta known): recounted whole.
  const other = new Inventory({ clusterDomain: 'cluster.local', services: [svc('d', ['10.0.0.4'])] });
  assert.deepEqual([...keys.follow(other, v3)], ['10.0.0.4:8080']);
});
