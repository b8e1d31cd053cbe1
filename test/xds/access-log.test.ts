// The egress access log to the analyzer's ALS, and scopes set before the
// server serves anyone (the `setup` hook).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeshCache } from '../../xds-server/cache/mesh-cache.ts';
import { createXdsServer } from '../../xds-server/index.ts';
import { TypeUrl } from '../../xds-server/types.ts';
import { SotwClient } from '../xds-protocol/helpers.ts';
import { decodeAny, decoded } from './support/decode.ts';
import { inventoryOf, svc } from './support/mesh.ts';
import { envoyNode } from './support/nodes.ts';

const inventory = () => inventoryOf([svc('productpage', { port: 9080, seed: 1 }), svc('reviews', { port: 9080, seed: 2 })]);
const gateway = { host: '127.0.0.1', port: 15008 };
const als = { host: '10.0.0.9', port: 15091 };

function hcmOf(listener: any): any {
  return decodeAny(listener.filter_chains[0].filters[0].typed_config);
}

describe('egress access log', () => {
  it('streams the egress listener to the ALS cluster, which every node shares', () => {
    const cache = new MeshCache({ inventory: inventory(), gateway, accessLogService: als });
    const a = cache.attach(envoyNode('productpage-0.default'));
    const b = cache.attach(envoyNode('reviews-0.default'));
    const [log] = hcmOf(decoded(a.resources(TypeUrl.Listener).get('egress'))).access_log;
    assert.equal(log.name, 'envoy.access_loggers.http_grpc');
    const config = decodeAny(log.typed_config);
    assert.deepEqual(config.common_config.grpc_service, { envoy_grpc: { cluster_name: 'meshscope-als' } });
    assert.equal(config.common_config.log_name, 'meshscope');
    assert.equal(config.common_config.transport_api_version, 'V3');
    assert.deepEqual(config.additional_request_headers_to_log, ['content-type'], 'content-type only: x-meshscope-source would be what the app sent');
    assert.equal(hcmOf(decoded(a.resources(TypeUrl.Listener).get('ingress'))).access_log, undefined, 'inbound calls are the callers\' to report');

    const cluster = a.resources(TypeUrl.Cluster).get('meshscope-als');
    assert.equal(cluster, b.resources(TypeUrl.Cluster).get('meshscope-als'), 'encoded once for every node');
    const c = decoded(cluster);
    assert.equal(c.type, 'STATIC');
    assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '10.0.0.9', port_value: 15091 });
    const h2 = decodeAny(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
    assert.ok(h2.explicit_http_config.http2_protocol_options, 'ALS is gRPC: HTTP/2');
  });

  it('adds neither without an access log service', () => {
    const h = new MeshCache({ inventory: inventory(), gateway }).attach(envoyNode('productpage-0.default'));
    assert.equal(hcmOf(decoded(h.resources(TypeUrl.Listener).get('egress'))).access_log, undefined);
    assert.equal(h.resources(TypeUrl.Cluster).has('meshscope-als'), false);
  });
});

describe('createXdsServer setup', () => {
  it('runs before the port is bound, so a scope set there is in the first response', async () => {
    let portInSetup: number | undefined;
    const server = await createXdsServer({
      inventory: inventory(),
      gatewayAddress: gateway,
      accessLogService: `${als.host}:${als.port}`,
      setup: (s) => {
        portInSetup = s.port;
        s.scope.setServiceScope('productpage.default', ['reviews.default']);
      },
    });
    const client = new SotwClient(server.port, 'sidecar~10.0.1.1~productpage-0.default~default.svc.cluster.local');
    try {
      assert.equal(portInSetup, 0, 'not listening yet');
      assert.ok(server.port > 0);
      client.request(TypeUrl.Cluster);
      const first = await client.next();
      const names = (first.resources ?? []).map((r) => decodeAny(r).name).sort();
      assert.deepEqual(names, ['inbound|9080||', 'meshscope-als', 'meshscope-gateway', 'outbound|9080||reviews.default.svc.cluster.local']);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('rejects a malformed access log service address', async () => {
    await assert.rejects(createXdsServer({ inventory: inventory(), accessLogService: 'nowhere' }), /access log service address "nowhere": expected HOST:PORT/);
  });
});
