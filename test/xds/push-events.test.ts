// The server's events: each ACK/NACK as it arrives, and each change of a
// node's resources once every response that carried it was answered. A scope
// change that alters nothing for a proxy is never reported.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createXdsServer, type AnswerEvent, type PushEvent, type XdsServer } from '../../xds-server/index.ts';
import { waitFor } from '../xds-protocol/helpers.ts';
import { CDS, RDS, connectProxy, expectType, nodeIdOf } from './support/ads-proxy.ts';
import { inventoryOf, svc } from './support/mesh.ts';

const A = 'a-0.default';
const mesh = () => [svc('a', { seed: 1 }), svc('x', { seed: 2 }), svc('y', { seed: 3 })];

describe('xDS server push and answer events', () => {
  let server: XdsServer;
  let pushes: PushEvent[];
  let answers: AnswerEvent[];
  const logs: string[] = [];

  beforeEach(async () => {
    server = await createXdsServer({ inventory: inventoryOf(mesh()), log: (l) => logs.push(l) });
    pushes = [];
    answers = [];
    server.onPush((e) => pushes.push(e));
    server.onAnswer((e) => answers.push(e));
  });
  afterEach(() => server.close());

  it('reports a scope push once its CDS and RDS responses are ACKed, with their versions and nonces', async () => {
    const c = await connectProxy(server.port, A);
    try {
      await waitFor(() => answers.length === 2, 'the initial CDS and RDS ACKs');
      assert.equal(pushes.length, 0, 'a first configuration is no push');
      const before = performance.now();
      server.scope.setServiceScope('a.default', ['x.default']);
      const cds = await expectType(c, CDS);
      c.ack(cds);
      const rds = await expectType(c, RDS);
      assert.equal(pushes.length, 0, 'not delivered while the route is unanswered');
      c.ack(rds, ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the push event');
      const [p] = pushes;
      assert.equal(p.nodeId, nodeIdOf(A));
      assert.equal(p.workload, A);
      assert.equal(p.cause, 'scope');
      assert.deepEqual(
        p.responses.map((r) => [r.typeUrl, r.version, r.nonce, r.ack]),
        [
          [CDS, cds.version_info, cds.nonce, true],
          [RDS, rds.version_info, rds.nonce, true],
        ],
      );
      assert.ok(p.types.includes(CDS) && p.types.includes(RDS));
      assert.ok(p.changedAt >= before && p.answeredAt >= p.changedAt);
      assert.deepEqual(
        answers.slice(2).map((a) => [a.workload, a.typeUrl, a.version, a.nonce, a.ack]),
        [
          [A, CDS, cds.version_info, cds.nonce, true],
          [A, RDS, rds.version_info, rds.nonce, true],
        ],
      );
      assert.deepEqual(logs, []);
    } finally {
      c.close();
    }
  });

  it('reports nothing for a scope change that alters no resources, and times the next real push from its own change', async () => {
    const c = await connectProxy(server.port, A);
    try {
      // A service the inventory does not know adds nothing to the proxy's configuration.
      server.scope.setServiceScope('a.default', ['ghost.default']);
      const real = performance.now();
      server.scope.setServiceScope('a.default', ['ghost.default', 'y.default']);
      c.ack(await expectType(c, CDS));
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the real push');
      assert.ok(pushes[0].changedAt >= real, 'timed from the change that altered the configuration');
      assert.equal(c.backlog, 0, 'the no-op change sent nothing');
    } finally {
      c.close();
    }
  });

  it('carries the NACK and its message in the answer and the push', async () => {
    const c = await connectProxy(server.port, A);
    try {
      server.scope.setServiceScope('a.default', ['x.default']);
      const cds = await expectType(c, CDS);
      c.nack(cds, 'cluster rejected by test');
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the push event');
      assert.deepEqual(
        pushes[0].responses.map((r) => [r.typeUrl, r.ack, r.message]),
        [
          [CDS, false, 'cluster rejected by test'],
          [RDS, true, undefined],
        ],
      );
      const nack = answers.find((a) => !a.ack)!;
      assert.deepEqual([nack.typeUrl, nack.version, nack.nonce, nack.message], [CDS, cds.version_info, cds.nonce, 'cluster rejected by test']);
    } finally {
      c.close();
    }
  });

  it('reports inventory changes with their cause, and under --no-lazy nothing for a scope change', async () => {
    await server.close();
    server = await createXdsServer({ inventory: inventoryOf(mesh()), lazy: false });
    server.onPush((e) => pushes.push(e));
    const c = await connectProxy(server.port, A);
    try {
      server.scope.setServiceScope('a.default', ['x.default']);
      server.setInventory(inventoryOf([...mesh(), svc('z', { seed: 4 })]));
      c.ack(await expectType(c, CDS));
      c.ack(await expectType(c, RDS), ['outbound', 'inbound']);
      await waitFor(() => pushes.length === 1, 'the inventory push');
      assert.equal(pushes[0].cause, 'inventory');
      assert.equal(pushes[0].responses.length, 2);
    } finally {
      c.close();
    }
  });

  it('forgets a push whose proxy disconnects before answering', async () => {
    const c = await connectProxy(server.port, A);
    server.scope.setServiceScope('a.default', ['x.default']);
    await expectType(c, CDS);
    c.close();
    await waitFor(() => server.proxies().length === 0, 'the proxy to leave');
    // The same stream never reports it later: a reconnect starts from a first configuration.
    const again = await connectProxy(server.port, A);
    again.close();
    assert.deepEqual(pushes, []);
  });
});
