// The gateway behind a real Envoy sidecar fed by the real xDS server: with an
// empty scope, the sidecar's catch-all route sends every call to the gateway;
// the caller must not be able to tell that first call from the direct one it
// makes once the service is in scope.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WatchedInventory } from '../../contracts/index.ts';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { createXdsServer, envoyBootstrapYaml, type XdsServer } from '../../xds-server/index.ts';
import { startEnvoy, type EnvoyProcess } from '../harness/envoy.ts';
import { waitUntil } from '../harness/wait.ts';
import { definition, EchoClient, echoServer, type Msg } from './grpc-echo.ts';
import { gatewayFor, h1Backend, h1Request, meshYaml, type Backend, type MemorySink, type Reply } from './helpers.ts';

const CALLER = 'productpage-0.default';

/** What a caller observes of an HTTP exchange, minus what legitimately varies per hop or per call. */
function observed(r: Reply) {
  const { date: _d, 'x-envoy-upstream-service-time': _t, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body };
}

interface GrpcOutcome {
  unary: Msg;
  unaryTrailer: string | undefined;
  stream: number[];
  error: { code: number; details: string; detail: string | undefined };
}

async function grpcCalls(port: number, authority: string): Promise<GrpcOutcome> {
  const client = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority }) as grpc.Client &
    Record<string, (...args: unknown[]) => unknown>;
  try {
    let trailer: string | undefined;
    const unary = await new Promise<Msg>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-n', '3');
      const call = client.unary({ text: 'hi' }, md, (e: grpc.ServiceError | null, m: Msg) => (e ? reject(e) : resolve(m))) as grpc.ClientUnaryCall;
      call.on('status', (s: grpc.StatusObject) => (trailer = s.metadata.get('x-trailer')[0] as string));
    });
    await waitUntil(() => trailer !== undefined, 'the unary status');
    const stream: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.list({ text: '', n: 5 }) as grpc.ClientReadableStream<Msg>;
      call.on('data', (m: Msg) => stream.push(m.n!));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.unary({ text: 'fail' }, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('expected an error')))),
    );
    return { unary, unaryTrailer: trailer, stream, error: { code: err.code, details: err.details, detail: err.metadata.get('x-detail')[0] as string } };
  } finally {
    client.close();
  }
}

describe('behind a real Envoy sidecar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-gateway-envoy-'));
  let reviews: Backend;
  let greeter: grpc.Server;
  let greeterPort: number;
  let inventory: WatchedInventory;
  let gateway: Gateway;
  let sink: MemorySink;
  let xds: XdsServer;
  let envoy: EnvoyProcess;
  let egress: number;

  before(async () => {
    reviews = await h1Backend('127.0.0.141', (req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-reviews': 'v1' });
      res.end(JSON.stringify({ path: req.url, method: req.method, bytes: body.length, custom: req.headers['x-custom'] ?? null }));
    });
    greeter = new grpc.Server();
    greeter.addService(definition, echoServer());
    greeterPort = await new Promise<number>((resolve, reject) =>
      greeter.bindAsync('127.0.0.142:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const mesh = join(dir, 'mesh.yaml');
    writeFileSync(
      mesh,
      meshYaml([
        { name: 'productpage', ports: [{ port: 9080 }], workloads: [{ name: 'productpage-0', address: '127.0.0.140' }] },
        { name: 'reviews', ports: [{ port: 9080, targetPort: reviews.port }], workloads: [{ name: 'reviews-0', address: reviews.address }] },
        { name: 'greeter', ports: [{ port: 50051, targetPort: greeterPort, protocol: 'grpc' }], workloads: [{ name: 'greeter-0', address: '127.0.0.142' }] },
      ]),
    );
    inventory = new WatchedInventory(mesh, () => undefined).start();
    ({ gateway, sink } = await gatewayFor(inventory.current, { inventory }));
    xds = await createXdsServer({ inventory, gatewayAddress: `127.0.0.1:${gateway.port}` });
    xds.scope.setServiceScope('productpage.default', []);
    envoy = await startEnvoy({
      name: 'productpage-sidecar',
      bootstrapYaml: envoyBootstrapYaml({ workload: CALLER, xds: { host: '127.0.0.1', port: xds.port }, ip: '127.0.0.140', adminPort: 0, egressPort: 0, ingressPort: 0 }),
    });
    await envoy.waitFor(async () => ((await envoy.listenerPorts()).egress ?? 0) > 0, 'the egress listener');
    egress = (await envoy.listenerPorts()).egress;
  });

  after(async () => {
    await envoy?.stop();
    await xds?.close();
    await gateway?.close();
    inventory?.close();
    greeter?.forceShutdown();
    await reviews?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first calls go through the gateway and look exactly like the later direct ones', { timeout: 60_000 }, async () => {
    const call = () => h1Request(egress, { host: 'reviews:9080', path: '/reviews/7?x=1', method: 'POST', body: 'stars', headers: { 'x-custom': 'yes' } });
    // Wait for the sidecar's config (the catch-all route) before the first real call.
    await envoy.waitFor(async () => (await call()).status === 200, 'the sidecar to route through its catch-all');
    const hitsBefore = gateway.metrics.requestCount({ destination: 'reviews.default' });
    assert.ok(hitsBefore >= 1, 'the call went through the gateway');
    const viaGateway = observed(await call());
    const grpcViaGateway = await grpcCalls(egress, 'greeter:50051');
    assert.deepEqual(grpcViaGateway.unary, { text: 'echo:hi', n: 3 });
    assert.equal(grpcViaGateway.unaryTrailer, 'bye');
    assert.deepEqual(grpcViaGateway.stream, [0, 1, 2, 3, 4]);
    assert.deepEqual(grpcViaGateway.error, { code: grpc.status.NOT_FOUND, details: 'no widget named fail', detail: 'missing-widget' });
    const grpcHits = gateway.metrics.requestCount({ destination: 'greeter.default' });
    assert.equal(grpcHits, 3, 'the three gRPC calls went through the gateway');

    // The gateway reported each call with the caller the catch-all route named.
    const recs = await sink.waitFor((r) => r.authority === 'reviews:9080' && r.path === '/reviews/7', 'records of the HTTP calls', 2);
    assert.equal(recs[0].source, CALLER);
    assert.equal(recs[0].upstreamCluster, 'outbound|9080||reviews.default.svc.cluster.local');
    const grpcRecs = await sink.waitFor((r) => r.authority === 'greeter:50051', 'records of the gRPC calls', 3);
    assert.ok(grpcRecs.every((r) => r.source === CALLER && r.protocol === 'grpc'));

    // Now the analyzer's decision: both services in scope; the sidecar calls them directly.
    xds.scope.setServiceScope('productpage.default', ['reviews.default', 'greeter.default']);
    const hits = () => gateway.metrics.requestCount();
    await envoy.waitFor(async () => {
      const before = hits();
      await call();
      return hits() === before;
    }, 'reviews to be reached directly');
    const gatewayHits = hits();
    const direct = observed(await call());
    const grpcDirect = await grpcCalls(egress, 'greeter:50051');
    assert.equal(hits(), gatewayHits, 'the direct calls bypassed the gateway');
    assert.deepEqual(viaGateway, direct);
    assert.deepEqual(grpcViaGateway, grpcDirect);
  });
});
