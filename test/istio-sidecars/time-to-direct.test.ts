// The time-to-direct tracker's bookkeeping, against a syncz table the test
// drives (istiod's real /debug/syncz is exercised by test/istio/bookinfo.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { pushNumber, TimeToDirect, type ProxySync } from '../../istio-sidecars/time-to-direct.ts';
import { waitUntil } from '../harness/wait.ts';

const inventory = new Inventory(parseMesh(`apiVersion: meshscope/v1
kind: Mesh
services:
  - name: productpage
    ports: [{port: 9080}]
    workloads: [{name: pp-1, address: 10.0.0.1, labels: {app: productpage}}, {name: pp-2, address: 10.0.0.2, labels: {app: productpage}}]
  - name: details
    ports: [{port: 9080}]
    workloads: [{name: details-1, address: 10.0.0.3, labels: {app: details}}]
`, 'mesh.yaml'));

const v = (push: number) => `2026-12-02T13:47:21Z/${push}5bfa6a77-8185-4edc-80b5-24c1cac98d4a`;
const sidecar = (hosts: string[]) => ({
  metadata: { name: 'meshscope-productpage', namespace: 'default' },
  spec: { workloadSelector: { labels: { app: 'productpage' } }, egress: [{ hosts: ['istio-system/*', ...hosts] }] },
});

function setup() {
  let rows: ProxySync[] = [
    { proxy: 'pp-1.default', cluster_sent: v(3), cluster_acked: v(3) },
    { proxy: 'pp-2.default', cluster_sent: v(3), cluster_acked: v(3) },
  ];
  const tracker = new TimeToDirect({
    syncz: async () => rows,
    inventory: () => inventory,
    firstCall: (ws, svc) => (ws.includes('pp-1.default') && svc === 'details.default' ? 1_000 : undefined),
    pollMs: 5,
  });
  return { tracker, set: (r: ProxySync[]) => (rows = r) };
}

describe('time-to-direct', () => {
  it('reads the push number out of istiod versions', () => {
    assert.equal(pushNumber('2026-12-02T13:47:21Z/145bfa6a77-8185-4edc-80b5-24c1cac98d4a'), 14);
    assert.equal(pushNumber('2026-12-02T13:47:15Z/137bf9069b-d525-4cef-ac1d-b2a6e6d8cf2d'), 13);
    assert.equal(pushNumber('2026-12-02T13:47:15Z/7'), 7);
    assert.equal(pushNumber(undefined), undefined);
  });

  it('measures a widened Sidecar until every proxy of the group ACKed a later push', async () => {
    const { tracker, set } = setup();
    await tracker.applied(sidecar([]), 500); // the first version: nothing to measure
    tracker.setServiceScope();
    await tracker.applied(sidecar(['default/details.default.svc.cluster.local']), Date.now() + 1);
    const [m] = tracker.measurements();
    assert.equal(m.state, 'pending');
    assert.deepEqual(m.proxies, ['pp-1.default', 'pp-2.default']);
    assert.deepEqual(m.hosts, ['default/details.default.svc.cluster.local']);
    assert.equal(m.firstCallAt, 1_000);
    // One proxy ACKed the new push, the other was sent it but has not ACKed: still pending.
    set([
      { proxy: 'pp-1.default', cluster_sent: v(4), cluster_acked: v(4) },
      { proxy: 'pp-2.default', cluster_sent: v(4), cluster_acked: v(3) },
    ]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tracker.measurements()[0].state, 'pending');
    set([
      { proxy: 'pp-1.default', cluster_sent: v(4), cluster_acked: v(4) },
      { proxy: 'pp-2.default', cluster_sent: v(5), cluster_acked: v(5) },
    ]);
    await waitUntil(() => tracker.measurements()[0].state === 'done', 'measurement done', 2_000);
    const done = tracker.measurements()[0];
    assert.equal(done.totalMs, done.ackedAt! - 1_000);
    assert.equal(tracker.totals.count, 1);
    assert.ok(tracker.metrics().some((f) => f.name === 'meshscope_istio_time_to_direct_seconds_count' && f.samples[0].value === 1));
    tracker.close();
  });

  it('measures nothing when no istiod reading precedes the write', async () => {
    const { tracker } = setup();
    await tracker.applied(sidecar([]), 500);
    await tracker.applied(sidecar(['default/details.default.svc.cluster.local']), 600);
    assert.deepEqual(tracker.measurements(), []);
    tracker.close();
  });
});
