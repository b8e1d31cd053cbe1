// A real proxyless gRPC client (grpc-js-xds) subscribing through the
// analyzer's own xDS server: its subscription is fed to the core in-process
// and becomes an edge and a scope, with no access log at all.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { loadInventory } from '../../contracts/index.ts';
import { DB_FILE, startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { grpcBootstrapJson } from '../../xds-server/index.ts';
import { waitUntil } from '../harness/wait.ts';
import { tempMesh, type TempMesh } from './support/mesh.ts';

const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString() || '{}') };
const HELLO = {
  hello: { path: '/meshscope.test.Greeter/Hello', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
} satisfies grpc.ServiceDefinition;
const GreeterClient = grpc.makeGenericClientConstructor(HELLO, 'Greeter');

describe('proxyless gRPC subscriptions as observations', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  let server: grpc.Server;
  let client: grpc.Client;

  before(async () => {
    server = new grpc.Server();
    server.addService(HELLO, { hello: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { from: 'greeter-0' }) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.31:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    mesh = tempMesh(
      'observations',
      `apiVersion: meshscope/v1
kind: Mesh
services:
  - name: greeter
    ports: [{port: ${port}, protocol: grpc}]
    workloads: [{name: greeter-0, address: 127.0.0.31}]
  - name: client
    ports: []
    workloads: [{name: client-0, address: 127.0.0.30}]
`,
    );
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir });
    const bootstrap = join(mesh.dir, 'grpc-bootstrap.json');
    writeFileSync(bootstrap, grpcBootstrapJson({ workload: 'client-0.default', xds: { host: '127.0.0.1', port: run.xdsPort } }));
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    grpcXds.register();
  });
  after(async () => {
    client?.close();
    await run?.close();
    server?.forceShutdown();
    mesh?.remove();
  });

  it('learns client → greeter from the subscription and keeps it in SQLite', async () => {
    assert.deepEqual(run.analyzer.scope('client.default'), []);
    client = new GreeterClient('xds:///greeter', grpc.credentials.createInsecure());
    const reply = await new Promise<any>((resolve, reject) =>
      (client as any).hello({}, { deadline: Date.now() + 10_000 }, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))),
    );
    assert.equal(reply.from, 'greeter-0');
    await waitUntil(() => run.analyzer.scope('client.default').includes('greeter.default'), 'the observation to reach the core', 10_000);
    const [edge] = run.analyzer.edges({ kind: 'service' });
    assert.equal(edge.source, 'client.default');
    assert.equal(edge.dest, 'greeter.default');
    assert.deepEqual(edge.protocols, ['grpc']);
    const proxy = run.xds.proxy('client-0.default');
    assert.equal(proxy?.profile, 'grpc');
    const res = await fetch(`http://127.0.0.1:${run.httpPort}/api/v1/proxies`).then((r) => r.json());
    assert.equal(res[0].workload, 'client-0.default');

    client.close();
    await run.close();
    const reopened = Analyzer.open({ inventory: loadInventory(mesh.meshFile), db: join(mesh.dataDir, DB_FILE) });
    try {
      assert.deepEqual(reopened.scope('client.default'), ['greeter.default']);
    } finally {
      await reopened.close();
    }
  });
});
