// gRPC through the gateway with @grpc/grpc-js on both ends: the client dials
// the gateway and names the service in its authority, as a sidecar's
// catch-all route would deliver it.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { definition, EchoClient, echoServer, type Msg } from './grpc-echo.ts';
import { gatewayFor, inventoryOf, type MemorySink } from './helpers.ts';

describe('gRPC through the gateway', () => {
  let server: grpc.Server;
  let gateway: Gateway;
  let sink: MemorySink;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const address = '127.0.0.51';

  before(async () => {
    server = new grpc.Server();
    server.addService(definition, echoServer());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${address}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    ({ gateway, sink } = await gatewayFor(
      inventoryOf([
        { name: 'echo', namespace: 'rpc', ports: [{ port: 50051, targetPort: port, protocol: 'grpc' }], workloads: [{ name: 'echo-0', address }] },
        { name: 'caller', namespace: 'rpc', ports: [], workloads: [{ name: 'caller-0', address: '127.0.0.59' }] },
      ]),
    ));
    client = new EchoClient(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'echo.rpc.svc.cluster.local:50051',
    }) as typeof client;
  });

  after(async () => {
    client.close();
    await gateway.close();
    server.forceShutdown();
  });

  function source(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('x-meshscope-source', 'caller-0.rpc');
    return md;
  }

  test('unary: response, initial and trailing metadata intact', async () => {
    const md = source();
    md.set('x-n', '7');
    let initial: grpc.Metadata | undefined;
    let statusArrived!: Promise<grpc.StatusObject>;
    const reply = await new Promise<Msg>((resolve, reject) => {
      const call = client.unary({ text: 'hi' }, md, (err: grpc.ServiceError | null, res: Msg) => (err ? reject(err) : resolve(res))) as grpc.ClientUnaryCall;
      call.on('metadata', (m: grpc.Metadata) => (initial = m));
      statusArrived = new Promise((r) => call.on('status', r));
    });
    assert.deepEqual(reply, { text: 'echo:hi', n: 7 });
    assert.equal(initial?.get('x-server')[0], 'echo');
    const status = await statusArrived;
    assert.equal(status.code, grpc.status.OK);
    assert.equal(status.metadata.get('x-trailer')[0], 'bye');
    const [rec] = await sink.waitFor((r) => r.path === '/test.Echo/Unary' && r.code === 200, 'record of the unary call');
    assert.equal(rec.protocol, 'grpc');
    assert.equal(rec.source, 'caller-0.rpc');
    assert.equal(rec.authority, 'echo.rpc.svc.cluster.local:50051');
  });

  test('a non-OK status keeps its code, message and trailing metadata', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.unary({ text: 'fail' }, source(), (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('expected an error')))),
    );
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, 'no widget named fail');
    assert.equal(err.metadata.get('x-detail')[0], 'missing-widget');
  });

  test('server streaming: every message in order, then trailers', async () => {
    const call = client.list({ text: '', n: 25 }, source()) as grpc.ClientReadableStream<Msg>;
    const got: Msg[] = [];
    const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('data', (m: Msg) => got.push(m));
      call.on('status', resolve);
      call.on('error', reject);
    });
    assert.equal(got.length, 25);
    assert.deepEqual(got.map((m) => m.n), Array.from({ length: 25 }, (_, i) => i));
    assert.equal(status.code, grpc.status.OK);
    assert.equal(status.metadata.get('x-count')[0], '25');
  });

  test('bidirectional streaming: each reply arrives before the next request is sent', async () => {
    const call = client.chat(source()) as grpc.ClientDuplexStream<Msg, Msg>;
    const replies: string[] = [];
    const done = new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('status', resolve);
      call.on('error', reject);
    });
    // Ping-pong: the next message goes out only once the previous echo came back through the gateway.
    let i = 0;
    call.on('data', (m: Msg) => {
      replies.push(m.text);
      if (++i < 10) call.write({ text: `m${i}` });
      else call.end();
    });
    call.write({ text: 'm0' });
    const status = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(replies, Array.from({ length: 10 }, (_, k) => `re:m${k}`));
  });

  test('an unknown gRPC authority gets a clear gRPC status, not a hang', async () => {
    const stray = new EchoClient(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'nosuch.rpc:50051',
    }) as typeof client;
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        stray.unary({ text: 'x' }, source(), (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('expected an error')))),
      );
      assert.equal(err.code, grpc.status.UNIMPLEMENTED);
      assert.match(err.details, /no service of the mesh inventory is named "nosuch\.rpc:50051"/);
      assert.equal(err.metadata.get('x-meshscope-error')[0], 'unknown-authority');
    } finally {
      stray.close();
    }
    await sink.waitFor((r) => r.authority === 'nosuch.rpc:50051' && r.code === 404 && !r.upstreamCluster, 'unresolved record');
  });
});
