// The Access Log Service through a real gRPC client: the node is named only in
// a stream's first message, yet the entries of every later message of that
// stream are still attributed to it; HTTP and TCP entries alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { serviceDefinition } from '../../analyzer/sources/grpc-definition.ts';
import { startAlsServer, type AlsServer } from '../../analyzer/sources/als-server.ts';
import { envoyRoot } from '../../contracts/envoy-proto.ts';
import { MESH, PAGE } from './support/mesh.ts';

const SERVICE = 'envoy.service.accesslog.v3.AccessLogService';
const outbound = (svc: string) => `outbound|9080||${svc}.default.svc.cluster.local`;
// The application reaches its sidecar over loopback: the address names nobody, the node names the caller.
const common = (cluster: string) => ({
  downstream_remote_address: { socket_address: { address: '127.0.0.9', port_value: 40000 } },
  start_time: { seconds: Math.floor(Date.now() / 1000) },
  upstream_cluster: cluster,
});
const http = (svc: string, id: string) => ({
  common_properties: common(outbound(svc)),
  protocol_version: 'HTTP11',
  request: { authority: `${svc}:9080`, request_id: id },
  response: { response_code: { value: 200 } },
});

describe('Access Log Service (real gRPC client)', () => {
  let analyzer: Analyzer;
  let als: AlsServer;
  let client: grpc.Client;

  before(async () => {
    analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    als = await startAlsServer({ target: analyzer, inventory: () => analyzer.inventory });
    const Client = grpc.makeGenericClientConstructor(serviceDefinition(envoyRoot(), SERVICE), 'AccessLogService');
    client = new Client(`127.0.0.1:${als.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await als?.close();
    await analyzer?.close();
  });

  it('attributes the entries of later messages to the node of the first', async () => {
    let done!: (err: grpc.ServiceError | null) => void;
    const ended = new Promise<grpc.ServiceError | null>((resolve) => (done = resolve));
    const call = (client as any).streamAccessLogs((err: grpc.ServiceError | null) => done(err)) as grpc.ClientWritableStream<object>;
    const node = { id: `sidecar~10.244.0.5~${PAGE}~default.svc.cluster.local` };
    call.write({ identifier: { node, log_name: 'meshscope' }, http_logs: { log_entry: [http('details', 'als-1')] } });
    call.write({ http_logs: { log_entry: [http('reviews', 'als-2')] } });
    call.write({ tcp_logs: { log_entry: [{ common_properties: common(outbound('ratings')), connection_properties: { received_bytes: 3, sent_bytes: 3 } }] } });
    call.end();
    assert.equal(await ended, null);
    await als.close();
    assert.equal(als.received(), 3);
    const edges = analyzer.edges({ kind: 'service' }).map((e) => `${e.source}>${e.dest}:${e.protocols.join()}`).sort();
    assert.deepEqual(edges, ['productpage.default>details.default:http', 'productpage.default>ratings.default:tcp', 'productpage.default>reviews.default:http']);
    assert.deepEqual(analyzer.stats().rejectedByReason, {});
  });
});
