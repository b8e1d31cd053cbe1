// What a proxy leaves behind when its stream ends: nothing. Its status entry,
// its shared scope view and its place in the scope index go with it, so a
// later scope change reaches no stream and a reconnect starts afresh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createXdsServer, type XdsServer } from '../../xds-server/index.ts';
import { CDS, EDS, SotwClient, waitFor } from '../xds-protocol/helpers.ts';
import { inventoryOf, svc } from './support/mesh.ts';

const NODE = 'sidecar~10.0.1.1~a-0.default~default.svc.cluster.local';

describe('xDS server after a proxy disconnects', () => {
  let server: XdsServer;
  const logs: string[] = [];

  before(async () => {
    server = await createXdsServer({ inventory: inventoryOf([svc('a', { seed: 1 }), svc('x', { seed: 2 })]), log: (l) => logs.push(l) });
    server.scope.setServiceScope('a.default', ['x.default']);
  });
  after(() => server?.close());

  it('drops the status entry and the scope view, and pushes nothing to the gone stream', async () => {
    const c = new SotwClient(server.port, NODE);
    c.request(CDS);
    const cds = await c.next();
    c.ack(cds);
    assert.equal(server.proxies().length, 1);
    assert.deepEqual(server.proxy('a-0.default')?.scope, ['x.default']);
    assert.equal(server.cache.viewCount, 1);

    c.close();
    await waitFor(() => server.proxies().length === 0, 'the proxy to leave the status list');
    assert.equal(server.cache.viewCount, 0, 'the shared scope view is released');
    server.scope.setServiceScope('a.default', []);

    // A reconnect is a fresh node: it gets its whole configuration again.
    const again = new SotwClient(server.port, NODE);
    try {
      again.request(CDS);
      const first = await again.next();
      assert.equal((first.resources ?? []).length, 1, 'the inbound cluster only: the scope is empty now');
      again.request(EDS, ['outbound|8080||x.default.svc.cluster.local']);
      await waitFor(() => server.proxy('a-0.default')?.types[EDS], 'the EDS subscription in status');
      assert.equal(server.proxies().length, 1);
      assert.equal(server.proxy('a-0.default')!.streams, 1);
      assert.deepEqual(logs, []);
    } finally {
      again.close();
    }
  });
});
