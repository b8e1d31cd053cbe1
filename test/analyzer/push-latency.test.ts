// The /metrics push-latency histogram over a real xDS server and a real
// grpc-js ADS client: only a scope change that altered a proxy's resources is
// timed, once, after the proxy ACKed every response that carried it; a NACK
// is counted instead.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { PushLatency } from '../../analyzer/http/metrics/push-latency.ts';
import { createXdsServer, type PushEvent, type XdsServer } from '../../xds-server/index.ts';
import { waitFor } from '../xds-protocol/helpers.ts';
import { CDS, RDS, connectProxy, expectType } from '../xds/support/ads-proxy.ts';
import { inventoryOf, svc } from '../xds/support/mesh.ts';

const A = 'a-0.default';
const mesh = () => [svc('a', { seed: 1 }), svc('x', { seed: 2 }), svc('y', { seed: 3 })];

describe('PushLatency', () => {
  let server: XdsServer | undefined;
  let latency: PushLatency | undefined;
  afterEach(async () => {
    latency?.stop();
    await server?.close();
  });

  async function start(lazy: boolean): Promise<{ server: XdsServer; latency: PushLatency; pushes: PushEvent[] }> {
    server = await createXdsServer({ inventory: inventoryOf(mesh()), lazy });
    latency = new PushLatency(server);
    const pushes: PushEvent[] = [];
    server.onPush((e) => pushes.push(e));
    return { server, latency, pushes };
  }

  it('records exactly one observation for a real push, and only after the ACK', async () => {
    const { server, latency, pushes } = await start(true);
    const c = await connectProxy(server.port, A);
    try {
      const before = performance.now();
      server.scope.setServiceScope('a.default', ['x.default']);
      c.ack(await expectType(c, CDS));
      const rds = await expectType(c, RDS);
      assert.equal(latency.histogram.count, 0, 'nothing observed before the last ACK');
      c.ack(rds, ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the push to be delivered');
      const elapsed = (performance.now() - before) / 1000;
      assert.equal(latency.histogram.count, 1);
      assert.ok(latency.histogram.sum > 0 && latency.histogram.sum <= elapsed, `latency ${latency.histogram.sum} s within the ${elapsed} s the test took`);
      assert.equal(latency.nacked, 0);
    } finally {
      c.close();
    }
  });

  it('records nothing for scope changes that alter no resources (--no-lazy), nor for inventory pushes', async () => {
    const { server, latency, pushes } = await start(false);
    const c = await connectProxy(server.port, A);
    try {
      server.scope.setServiceScope('a.default', ['x.default']);
      server.scope.setServiceScope('x.default', ['y.default']);
      // An inventory push to the same proxy, after the scope changes: once it is delivered, any scope push would have been too.
      server.setInventory(inventoryOf([...mesh(), svc('z', { seed: 4 })]));
      c.ack(await expectType(c, CDS));
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length > 0, 'the inventory push');
      assert.deepEqual(pushes.map((p) => p.cause), ['inventory']);
      assert.equal(latency.histogram.count, 0);
      assert.equal(latency.nacked, 0);
    } finally {
      c.close();
    }
  });

  it('counts a NACKed push instead of timing it', async () => {
    const { server, latency, pushes } = await start(true);
    const c = await connectProxy(server.port, A);
    try {
      server.scope.setServiceScope('a.default', ['x.default']);
      c.nack(await expectType(c, CDS), 'rejected by test');
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the push to be delivered');
      assert.equal(latency.nacked, 1);
      assert.equal(latency.histogram.count, 0);

      // The next push the proxy accepts is timed again.
      server.scope.setServiceScope('a.default', ['x.default', 'y.default']);
      c.ack(await expectType(c, CDS));
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 2, 'the second push');
      assert.equal(latency.histogram.count, 1);
      assert.equal(latency.nacked, 1);
    } finally {
      c.close();
    }
  });
});
