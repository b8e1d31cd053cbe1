// Self-declared identities on the ALS and xDS ports: a node id that names
// another workload than the one at the peer's address is refused and counted;
// trusted peers (loopback by default: the embedded setup's sidecars) are
// believed. Real gRPC clients over loopback: 127.0.0.1 is productpage's
// address in this mesh, so with `--trusted-proxies none` the peer is productpage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Inventory, TrustedPeers, parseMesh, parseTrustedProxies, peerIp } from '../../contracts/index.ts';
import { envoyRoot } from '../../contracts/envoy-proto.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { serviceDefinition } from '../../analyzer/sources/grpc-definition.ts';
import { startAlsServer, type AlsServer } from '../../analyzer/sources/als-server.ts';
import { createXdsServer, type XdsServer } from '../../xds-server/index.ts';
import { CDS, SotwClient } from '../xds-protocol/helpers.ts';

const MESH = `apiVersion: meshscope/v1
kind: Mesh
services:
  - name: productpage
    ports: [{port: 9080}]
    workloads: [{name: productpage-0, address: 127.0.0.1}]
  - name: details
    ports: [{port: 9080}]
    workloads: [{name: details-0, address: 10.244.0.7}]
  - name: reviews
    ports: [{port: 9080}]
    workloads: [{name: reviews-0, address: 10.244.0.8}]
`;
const inventory = new Inventory(parseMesh(MESH, 'mesh.yaml'));
const nodeOf = (workload: string) => `sidecar~10.0.0.1~${workload}~default.svc.cluster.local`;

describe('ALS: the node id must be the peer', () => {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(envoyRoot(), 'envoy.service.accesslog.v3.AccessLogService'), 'AccessLogService');
  const entry = (svc: string) => ({
    common_properties: { start_time: { seconds: Math.floor(Date.now() / 1000) }, upstream_cluster: `outbound|9080||${svc}.default.svc.cluster.local` },
    request: { authority: `${svc}:9080` },
    response: { response_code: { value: 200 } },
  });
  const stream = (port: number, workload: string, svc: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const call = (client as any).streamAccessLogs((err: grpc.ServiceError | null) => {
        client.close();
        resolve(err);
      }) as grpc.ClientWritableStream<object>;
      call.on('error', () => {});
      call.write({ identifier: { node: { id: nodeOf(workload) }, log_name: 'meshscope' }, http_logs: { log_entry: [entry(svc)] } });
      call.end();
    });

  let analyzer: Analyzer;
  let strict: AlsServer;
  let loopback: AlsServer;
  const logs: string[] = [];
  before(async () => {
    analyzer = Analyzer.open({ inventory });
    strict = await startAlsServer({ target: analyzer, inventory: () => inventory, trusted: new TrustedPeers([]), log: (l) => logs.push(l) });
    loopback = await startAlsServer({ target: analyzer, inventory: () => inventory });
  });
  after(async () => {
    await strict?.close();
    await loopback?.close();
    await analyzer?.close();
  });

  it('refuses and counts a stream whose node names another workload than the peer, ingesting none of it', async () => {
    const err = await stream(strict.port, 'details-0.default', 'reviews');
    assert.equal(err?.code, grpc.status.PERMISSION_DENIED);
    assert.match(err!.details, /names workload details-0\.default, but the stream comes from 127\.0\.0\.1, the address of workload productpage-0\.default/);
    assert.equal(strict.refused(), 1);
    assert.match(logs.join('\n'), /access log service: refused a stream/);
    assert.deepEqual(analyzer.scope('details.default'), [], 'the forged entry grew no scope');
    assert.equal(analyzer.stats().records, 0);
  });

  it('believes the node that is the peer, and any node from a trusted peer (loopback by default)', async () => {
    assert.equal(await stream(strict.port, 'productpage-0.default', 'reviews'), null);
    assert.equal(await stream(loopback.port, 'details-0.default', 'productpage'), null);
    assert.equal(loopback.refused(), 0);
    await strict.close();
    await loopback.close();
    assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
    assert.deepEqual(analyzer.scope('details.default'), ['productpage.default']);
  });
});

describe('xDS: the node id must be the peer', () => {
  let strict: XdsServer;
  let loopback: XdsServer;
  const logs: string[] = [];
  before(async () => {
    strict = await createXdsServer({ inventory, trustedPeers: new TrustedPeers([]), log: (l) => logs.push(l) });
    loopback = await createXdsServer({ inventory });
  });
  after(async () => {
    await strict?.close();
    await loopback?.close();
  });

  it('ends a stream whose node names another workload than the peer with PERMISSION_DENIED, and counts it', async () => {
    for (const node of [nodeOf('details-0.default'), 'no-such-proxy']) {
      const c = new SotwClient(strict.port, node);
      c.request(CDS);
      // A served stream answers instead of ending: that is a failure here, not a wait.
      const status = await Promise.race([c.ended, c.next().then(() => ({ code: -1, details: `${node} was served` }))]);
      c.close();
      assert.equal(status.code, grpc.status.PERMISSION_DENIED, node);
      assert.match(status.details, /the stream comes from 127\.0\.0\.1, the address of workload productpage-0\.default.*--trusted-proxies \(none\)/);
    }
    assert.equal(strict.refusedIdentities(), 2);
    assert.equal(strict.proxyCount(), 0);
  });

  it('serves the node that is the peer, and any node from a trusted peer', async () => {
    for (const [server, node] of [[strict, nodeOf('productpage-0.default')], [loopback, nodeOf('details-0.default')]] as const) {
      const c = new SotwClient(server.port, node);
      try {
        c.request(CDS);
        assert.ok((await c.next()).resources, `${node} is served`);
        assert.equal(server.proxyCount(), 1);
      } finally {
        c.close();
      }
    }
    assert.equal(loopback.refusedIdentities(), 0);
  });
});

describe('trusted peers', () => {
  it('parses CIDRs and bare addresses, reads gRPC peer strings, and names a bad entry', () => {
    const t = new TrustedPeers(parseTrustedProxies('10.0.0.0/8, 192.168.1.5, fd00::/8'));
    for (const ip of ['10.1.2.3', '192.168.1.5', '::ffff:10.0.0.1', 'fd00::1']) assert.ok(t.has(ip), ip);
    for (const ip of ['11.0.0.1', '192.168.1.6', '127.0.0.1', 'fe80::1', 'garbage']) assert.ok(!t.has(ip), ip);
    assert.ok(new TrustedPeers().has('127.0.0.5') && new TrustedPeers().has('::1'));
    assert.deepEqual(parseTrustedProxies('none'), []);
    assert.deepEqual(['ipv4:10.0.0.1:5', '10.0.0.1:5', '[::1]:7', 'ipv6:[::ffff:127.0.0.1]:7'].map(peerIp), ['10.0.0.1', '10.0.0.1', '::1', '127.0.0.1']);
    assert.throws(() => new TrustedPeers(['10.0.0.0/40']), /trusted proxy "10\.0\.0\.0\/40": expected an IPv4 or IPv6 CIDR/);
  });
});
