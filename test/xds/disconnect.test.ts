// What a proxy leaves behind when its stream ends: nothing. Its status entry,
// its shared scope view and its place in the scope index go with it, so a
// later scope change reaches no stream and a reconnect starts afresh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createXdsServer, type XdsServer } from '../../xds-server/index.ts';
import type { NodeHandle, TypeUrl } from '../../xds-server/types.ts';
import { CDS, EDS, SotwClient, waitFor } from '../xds-protocol/helpers.ts';
import { inventoryOf, svc } from './support/mesh.ts';

const NODE = 'sidecar~10.0.1.1~a-0.default~default.svc.cluster.local';
const CONTROL = 'sidecar~10.0.2.1~x-0.default~default.svc.cluster.local';

describe('xDS server after a proxy disconnects', () => {
  let server: XdsServer;
  const logs: string[] = [];

  before(async () => {
    server = await createXdsServer({ inventory: inventoryOf([svc('a', { seed: 1 }), svc('x', { seed: 2 })]), log: (l) => logs.push(l) });
    server.scope.setServiceScope('a.default', ['x.default']);
  });
  after(() => server?.close());

  it('drops the status entry and the scope view, and pushes nothing to the gone stream', async () => {
    // What the gone stream hears from the cache and reads from it once it is gone: a stream that
    // still listened (or still planned responses) after its client left would push to it.
    const afterGone = { changes: 0, reads: 0 };
    let gone = false;
    let first = true;
    const attach = server.cache.attach.bind(server.cache);
    server.cache.attach = (node) => {
      const h = attach(node);
      if (node.id !== NODE || !first) return h;
      first = false;
      const handle: NodeHandle = h;
      const onChange = handle.onChange.bind(h);
      const resources = handle.resources.bind(h);
      handle.onChange = (l) => onChange((types, changes) => (gone && afterGone.changes++, l(types, changes)));
      handle.resources = (t: TypeUrl) => (gone && afterGone.reads++, resources(t));
      return h;
    };
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
    gone = true;

    // A live proxy of another service sees its change of the same turn: by then the gone one would have been pushed to.
    const control = new SotwClient(server.port, CONTROL);
    try {
      control.request(CDS);
      control.ack(await control.next());
      server.scope.setServiceScope('a.default', []);
      server.scope.setServiceScope('x.default', ['a.default']);
      const pushed = await control.next();
      assert.ok(pushed.resources!.length > 1, 'the control proxy got its new scope');
      assert.deepEqual(afterGone, { changes: 0, reads: 0 }, 'nothing was computed or sent for the gone stream');
    } finally {
      control.close();
    }
    await waitFor(() => server.proxies().length === 0, 'the control proxy to leave');

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
