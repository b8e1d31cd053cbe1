// A real grpc-js-xds client calling `xds:///greeter` against real gRPC servers
// on loopback, configured by the xDS server from mesh.yaml: endpoint edits
// move its traffic without a restart, and its subscriptions are reported as
// dependency observations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { WatchedInventory, type AccessLogRecord } from '../../contracts/index.ts';
import { bootstrapCommand } from '../../xds-server/cli.ts';
import { createXdsServer, type XdsServer } from '../../xds-server/index.ts';
import { waitUntil } from '../harness/wait.ts';
import { EchoClient, hello as call, startGreeter, type Greeter } from './support/grpc-echo.ts';
import { meshYaml, type TestService } from './support/mesh.ts';

describe('proxyless gRPC client (grpc-js-xds)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-xds-grpc-'));
  const meshFile = join(dir, 'mesh.yaml');
  const greeters: Greeter[] = [];
  const clients: grpc.Client[] = [];
  const observations: AccessLogRecord[] = [];
  let port: number;
  let inventory: WatchedInventory;
  let server: XdsServer;

  const writeMesh = () => {
    const services: TestService[] = [
      { name: 'greeter', ports: [{ port, protocol: 'grpc' }], workloads: greeters.map((g) => ({ name: g.name, address: g.address })) },
      { name: 'client', ports: [], workloads: [{ name: 'client-0', address: '127.0.0.20' }] },
    ];
    writeFileSync(meshFile, meshYaml(services));
  };

  before(async () => {
    const first = await startGreeter('greeter-1', '127.0.0.21', 0);
    port = first.port;
    greeters.push(first, await startGreeter('greeter-2', '127.0.0.22', port));
    writeMesh();
    inventory = new WatchedInventory(meshFile, () => {}).start();
    server = await createXdsServer({ inventory });
    server.onObservation((r) => observations.push(r));
    const bootstrap = join(dir, 'grpc-bootstrap.json');
    assert.equal(await bootstrapCommand.run(['--grpc', '--workload', 'client-0.default', '--mesh', meshFile, '--xds', `127.0.0.1:${server.port}`, '-o', bootstrap]), 0);
    // grpc-js-xds reads the bootstrap once, when the first xds: channel is made.
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    grpcXds.register();
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
    inventory?.close();
    for (const g of greeters) g.server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (target: string) => {
    const c = new EchoClient(target, grpc.credentials.createInsecure());
    clients.push(c);
    return c;
  };

  /** Waits until `count` calls in a row land on exactly the `expected` servers. */
  const settlesOn = async (c: grpc.Client, expected: string[], what: string) => {
    await waitUntil(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 3 * expected.length; i++) seen.add(await call(c));
      return seen.size === expected.length && expected.every((e) => seen.has(e));
    }, what, 15_000);
  };

  it('balances xds:///greeter over the endpoints in mesh.yaml', async () => {
    const c = client('xds:///greeter');
    await settlesOn(c, ['greeter-1', 'greeter-2'], 'calls to reach both greeters');
    const status = server.proxy('client-0.default');
    assert.ok(status);
    assert.equal(status.profile, 'grpc');
    assert.deepEqual(status.scope, ['greeter.default']);
    for (const t of Object.values(status.types)) assert.equal(t.lastNack, undefined, JSON.stringify(t));
  });

  it('reports each subscription as a dependency observation', async () => {
    const c = client(`xds:///greeter.default.svc.cluster.local:${port}`);
    assert.match(await call(c), /^greeter-/);
    const authorities = observations.map((o) => o.authority).sort();
    assert.deepEqual(authorities, ['greeter', `greeter.default.svc.cluster.local:${port}`]);
    for (const o of observations) {
      assert.equal(o.source, 'client-0.default');
      assert.equal(o.reporter, 'xds');
      assert.equal(o.protocol, 'grpc');
    }
  });

  it('moves traffic when an endpoint is removed from and added to mesh.yaml', async () => {
    const c = clients[0];
    const removed = greeters.shift()!;
    writeMesh();
    await settlesOn(c, ['greeter-2'], 'traffic to leave greeter-1');
    removed.server.forceShutdown();
    greeters.push(await startGreeter('greeter-3', '127.0.0.23', port));
    writeMesh();
    await settlesOn(c, ['greeter-2', 'greeter-3'], 'traffic to reach the added greeter-3');
  });
});
