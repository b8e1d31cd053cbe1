// Resource shapes of the Envoy sidecar and proxyless gRPC profiles, decoded
// from the bytes the cache would send.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SOURCE_HEADER } from '../../contracts/index.ts';
import { MeshCache } from '../../xds-server/cache/mesh-cache.ts';
import { measureProxyBytes } from '../../xds-server/cache/proxy-bytes.ts';
import { TypeUrl } from '../../xds-server/types.ts';
import { decodeAny, decoded, domainsOf } from './support/decode.ts';
import { inventoryOf, svc } from './support/mesh.ts';
import { envoyNode, grpcNode } from './support/nodes.ts';

const mesh = () =>
  inventoryOf([
    { ...svc('productpage', { port: 9080, seed: 1 }) },
    { ...svc('reviews', { port: 9080, workloads: 2, seed: 2 }), clusterIP: '10.96.0.12' },
    svc('ratings', { port: 9080, seed: 3 }),
    {
      name: 'multi',
      ports: [
        { port: 8080, protocol: 'http' },
        { port: 80, targetPort: 8000, protocol: 'http' },
        { port: 9090, protocol: 'grpc' },
        { port: 5432, protocol: 'tcp' },
      ],
      workloads: [{ name: 'multi-0', address: '10.0.4.1' }],
    },
    svc('greeter', { port: 50051, protocol: 'grpc', seed: 5 }),
    svc('reviews', { port: 9080, namespace: 'prod', seed: 6 }),
  ]);

const gateway = { host: '127.0.0.1', port: 15008 };

describe('Envoy sidecar profile', () => {
  it('binds egress and ingress where the node metadata says', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    const h = cache.attach(envoyNode('productpage-0.default', { MESH_EGRESS_PORT: '16001', MESH_INGRESS_PORT: 16006, MESH_BIND_ADDRESS: '127.0.0.3' }));
    const listeners = h.resources(TypeUrl.Listener);
    assert.deepEqual([...listeners.keys()].sort(), ['egress', 'ingress']);
    const egress = decoded(listeners.get('egress'));
    assert.deepEqual(egress.address.socket_address, { address: '127.0.0.3', port_value: 16001 });
    assert.equal(egress.metadata.filter_metadata.meshscope.fields.source.stringValue, 'productpage-0.default');
    const hcm = decodeAny(egress.filter_chains[0].filters[0].typed_config);
    assert.equal(hcm.rds.route_config_name, 'outbound');
    assert.ok(hcm.rds.config_source.ads, 'RDS comes over ADS');
    assert.equal(hcm.http_filters.at(-1).name, 'envoy.filters.http.router');
    const ingress = decoded(listeners.get('ingress'));
    assert.deepEqual(ingress.address.socket_address, { address: '127.0.0.3', port_value: 16006 });
    assert.equal(decodeAny(ingress.filter_chains[0].filters[0].typed_config).rds.route_config_name, 'inbound');
  });

  it('defaults to 127.0.0.1:15001 / 15006 and gives a client-only workload no ingress', () => {
    const inv = inventoryOf([svc('reviews'), { name: 'loadgen', ports: [], workloads: [{ name: 'loadgen-0', address: '10.0.9.1' }] }]);
    const cache = new MeshCache({ inventory: inv, gateway });
    const egress = decoded(cache.attach(envoyNode('reviews-0.default')).resources(TypeUrl.Listener).get('egress'));
    assert.deepEqual(egress.address.socket_address, { address: '127.0.0.1', port_value: 15001 });
    const client = cache.attach(envoyNode('loadgen-0.default'));
    assert.deepEqual([...client.resources(TypeUrl.Listener).keys()], ['egress']);
    assert.deepEqual([...client.resources(TypeUrl.Route).keys()], ['outbound']);
  });

  it('routes every spelling of a scoped service to its outbound cluster, the rest to the gateway with the source header', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    cache.scope.setServiceScope('productpage.default', ['reviews.default']);
    const h = cache.attach(envoyNode('productpage-0.default'));
    const route = decoded(h.resources(TypeUrl.Route).get('outbound'));
    assert.equal(route.name, 'outbound');
    const [reviews, catchAll] = route.virtual_hosts;
    assert.deepEqual(new Set(reviews.domains), new Set([
      'reviews', 'reviews:9080', 'reviews.default', 'reviews.default:9080', 'reviews.default.svc', 'reviews.default.svc:9080',
      'reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080', '10.96.0.12', '10.96.0.12:9080',
    ]));
    assert.equal(reviews.routes[0].route.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.deepEqual(catchAll.domains, ['*']);
    assert.equal(catchAll.routes[0].route.cluster, 'meshscope-gateway');
    assert.equal(catchAll.request_headers_to_add[0].header.key, SOURCE_HEADER);
    assert.equal(catchAll.request_headers_to_add[0].header.value, '%METADATA(LISTENER:meshscope:source)%');
    assert.equal(catchAll.request_headers_to_add[0].append_action, 'OVERWRITE_IF_EXISTS_OR_ADD');
    assert.equal(route.virtual_hosts.length, 2);

    const clusters = h.resources(TypeUrl.Cluster);
    assert.deepEqual([...clusters.keys()].sort(), ['inbound|9080||', 'meshscope-gateway', 'outbound|9080||reviews.default.svc.cluster.local']);
    const out = decoded(clusters.get('outbound|9080||reviews.default.svc.cluster.local'));
    assert.equal(out.type, 'EDS');
    assert.ok(out.eds_cluster_config.eds_config.ads);
    assert.equal(out.eds_cluster_config.eds_config.resource_api_version, 'V3');
    assert.equal(out.typed_extension_protocol_options, undefined, 'HTTP/1 service keeps the default upstream protocol');
    const gw = decoded(clusters.get('meshscope-gateway'));
    assert.equal(gw.type, 'STATIC');
    assert.deepEqual(gw.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 15008 });
    const gwOpts = decodeAny(gw.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']);
    assert.ok(gwOpts.use_downstream_protocol_config, 'the gateway is spoken to in the caller\'s protocol');
    assert.equal(Number(gwOpts.common_http_protocol_options.idle_timeout.seconds), 60, 'sidecars drop idle gateway connections before the gateway (65 s) does');
    const inbound = decoded(clusters.get('inbound|9080||'));
    assert.equal(inbound.type, 'STATIC');
    assert.deepEqual(inbound.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 9080 });

    const loads = h.resources(TypeUrl.Endpoint);
    assert.deepEqual([...loads.keys()], ['outbound|9080||reviews.default.svc.cluster.local']);
    const cla = decoded(loads.get('outbound|9080||reviews.default.svc.cluster.local'));
    assert.equal(cla.endpoints.length, 1);
    assert.ok(cla.endpoints[0].locality, 'locality set (gRPC clients drop localities without one)');
    assert.equal(cla.endpoints[0].load_balancing_weight.value, 2);
    assert.deepEqual(
      cla.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address),
      [{ address: '10.0.2.1', port_value: 9080 }, { address: '10.0.2.2', port_value: 9080 }],
    );
  });

  it('gives a multi-port service one virtual host per HTTP port; a spelling without port means 80', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    cache.scope.setServiceScope('productpage.default', ['multi.default']);
    const route = decoded(cache.attach(envoyNode('productpage-0.default')).resources(TypeUrl.Route).get('outbound'));
    const byCluster = Object.fromEntries(route.virtual_hosts.slice(0, -1).map((vh: any) => [vh.routes[0].route.cluster, vh.domains]));
    assert.deepEqual(Object.keys(byCluster).sort(), [
      'outbound|8080||multi.default.svc.cluster.local',
      'outbound|80||multi.default.svc.cluster.local',
      'outbound|9090||multi.default.svc.cluster.local',
    ]);
    assert.ok(byCluster['outbound|80||multi.default.svc.cluster.local'].includes('multi'));
    assert.ok(byCluster['outbound|80||multi.default.svc.cluster.local'].includes('multi:80'));
    assert.ok(byCluster['outbound|8080||multi.default.svc.cluster.local'].includes('multi.default:8080'));
    assert.ok(!byCluster['outbound|8080||multi.default.svc.cluster.local'].includes('multi'));
    const all = domainsOf(route);
    assert.equal(new Set(all).size, all.length, 'no domain twice (Envoy would reject the route configuration)');

    const clusters = cache.attach(envoyNode('productpage-0.default')).resources(TypeUrl.Cluster);
    assert.ok(clusters.has('outbound|5432||multi.default.svc.cluster.local'), 'TCP ports still get a cluster');
    const grpcCluster = decoded(clusters.get('outbound|9090||multi.default.svc.cluster.local'));
    const opts = grpcCluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
    assert.ok(decodeAny(opts).explicit_http_config.http2_protocol_options, 'gRPC upstreams speak HTTP/2');
  });

  it('lists short names only for the caller namespace, so same-named services never clash', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway, lazy: false });
    const route = decoded(cache.attach(envoyNode('productpage-0.default')).resources(TypeUrl.Route).get('outbound'));
    const all = domainsOf(route);
    assert.equal(new Set(all).size, all.length);
    const prod = route.virtual_hosts.find((vh: any) => vh.name === 'reviews.prod.svc.cluster.local:9080');
    assert.ok(prod.domains.includes('reviews.prod') && !prod.domains.includes('reviews'));
    const fromProd = decoded(cache.attach(envoyNode('reviews-0.prod')).resources(TypeUrl.Route).get('outbound'));
    assert.ok(fromProd.virtual_hosts.find((vh: any) => vh.name === 'reviews.prod.svc.cluster.local:9080').domains.includes('reviews'));
  });

  it('without a scope routes everything to the gateway; without a gateway the catch-all answers 503', () => {
    const noScope = new MeshCache({ inventory: mesh(), gateway }).attach(envoyNode('productpage-0.default'));
    assert.equal(decoded(noScope.resources(TypeUrl.Route).get('outbound')).virtual_hosts.length, 1);
    assert.equal(noScope.resources(TypeUrl.Endpoint).size, 0);
    const noGateway = new MeshCache({ inventory: mesh() }).attach(envoyNode('productpage-0.default'));
    const vh = decoded(noGateway.resources(TypeUrl.Route).get('outbound')).virtual_hosts[0];
    assert.equal(vh.routes[0].direct_response.status, 503);
    assert.ok(!noGateway.resources(TypeUrl.Cluster).has('meshscope-gateway'));
  });

  it('routes the ingress by the service port the caller named', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    const h = cache.attach(envoyNode('multi-0.default', { MESH_WORKLOAD_ADDRESS: '127.0.0.7' }));
    const inbound = decoded(h.resources(TypeUrl.Route).get('inbound'));
    const byDomain = Object.fromEntries(inbound.virtual_hosts.map((vh: any) => [vh.domains[0], vh.routes[0].route.cluster]));
    assert.deepEqual(byDomain, { '*:8080': 'inbound|8080||', '*:80': 'inbound|8000||', '*:9090': 'inbound|9090||', '*': 'inbound|8000||' });
    const c = decoded(h.resources(TypeUrl.Cluster).get('inbound|8000||'));
    assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.7', port_value: 8000 });
  });

  it('measures a proxy scoped and full', () => {
    const bytes = measureProxyBytes(mesh(), 'productpage-0.default', ['reviews.default']);
    assert.equal(bytes.workload, 'productpage-0.default');
    assert.equal(bytes.clusters, 3);
    assert.ok(bytes.bytesScoped > 0 && bytes.bytesScoped < bytes.bytesFull, JSON.stringify(bytes));
    // With an access log service the proxy is also pushed its cluster and the egress log config: counted too.
    const als = { host: '127.0.0.1', port: 15091 };
    const logged = measureProxyBytes(mesh(), 'productpage-0.default', ['reviews.default'], { accessLogService: als });
    assert.equal(logged.clusters, 4);
    const cache = new MeshCache({ inventory: mesh(), gateway: { host: '127.0.0.1', port: 15008 }, accessLogService: als });
    cache.scope.setWorkloadScope('productpage-0.default', ['reviews.default']);
    const pushed = cache.attach(envoyNode('productpage-0.default'));
    let total = 0;
    for (const type of [TypeUrl.Listener, TypeUrl.Route, TypeUrl.Cluster, TypeUrl.Endpoint]) for (const r of pushed.resources(type).values()) total += r.any.value.length;
    assert.equal(logged.bytesScoped, total, 'exactly what the server pushes that proxy');
  });
});

describe('proxyless gRPC profile', () => {
  it('answers each listener name as asked, through an RDS route to an EDS cluster', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    const h = cache.attach(grpcNode('productpage-0.default'));
    const names = ['greeter', 'greeter:50051', 'greeter.default', 'greeter.default.svc.cluster.local:50051', 'nosuch', 'greeter:1'];
    h.subscribed(TypeUrl.Listener, new Set(names));
    const listeners = h.resources(TypeUrl.Listener);
    assert.deepEqual([...listeners.keys()].sort(), ['greeter', 'greeter.default', 'greeter.default.svc.cluster.local:50051', 'greeter:50051']);
    for (const [name, r] of listeners) {
      const l = decoded(r);
      assert.equal(l.name, name);
      const hcm = decodeAny(l.api_listener.api_listener);
      assert.equal(hcm.rds.route_config_name, 'greeter.default.svc.cluster.local:50051');
      assert.ok(hcm.rds.config_source.ads);
      assert.equal(hcm.http_filters.at(-1).name, 'envoy.filters.http.router');
      assert.ok(hcm.http_filters.at(-1).typed_config, 'router filter carries its typed_config');
    }
    assert.deepEqual([...h.resources(TypeUrl.Route).keys()], ['greeter.default.svc.cluster.local:50051']);
    const route = decoded(h.resources(TypeUrl.Route).get('greeter.default.svc.cluster.local:50051'));
    assert.equal(route.virtual_hosts[0].routes[0].route.cluster, 'outbound|50051||greeter.default.svc.cluster.local');
    assert.deepEqual([...h.resources(TypeUrl.Cluster).keys()], ['outbound|50051||greeter.default.svc.cluster.local']);
    const cla = decoded(h.resources(TypeUrl.Endpoint).get('outbound|50051||greeter.default.svc.cluster.local'));
    assert.ok(cla.endpoints[0].locality);
    assert.equal(cla.endpoints[0].load_balancing_weight.value, 1);
  });

  it('resolves a name without port to the only port, else the only gRPC port, else nothing', () => {
    const inv = inventoryOf([
      { name: 'mixed', ports: [{ port: 8080, protocol: 'http' }, { port: 9090, protocol: 'grpc' }], workloads: [] },
      { name: 'twogrpc', ports: [{ port: 9090, protocol: 'grpc' }, { port: 9091, protocol: 'grpc' }], workloads: [] },
    ]);
    const h = new MeshCache({ inventory: inv }).attach(grpcNode('client-0.default'));
    h.subscribed(TypeUrl.Listener, new Set(['mixed', 'twogrpc', 'twogrpc:9091']));
    assert.deepEqual([...h.resources(TypeUrl.Route).keys()].sort(), ['mixed.default.svc.cluster.local:9090', 'twogrpc.default.svc.cluster.local:9091']);
    assert.deepEqual([...h.resources(TypeUrl.Listener).keys()].sort(), ['mixed', 'twogrpc:9091']);
  });

  it('emits each new subscription once as an observation', () => {
    const cache = new MeshCache({ inventory: mesh(), gateway });
    const seen: any[] = [];
    cache.onObservation((r) => seen.push(r));
    const h = cache.attach(grpcNode('productpage-0.default'));
    h.subscribed(TypeUrl.Listener, new Set(['greeter']));
    h.subscribed(TypeUrl.Listener, new Set(['greeter', 'nosuch:80']));
    h.subscribed(TypeUrl.Listener, new Set(['greeter', 'nosuch:80']));
    assert.deepEqual(seen.map((r) => [r.source, r.authority, r.protocol, r.reporter]), [
      ['productpage-0.default', 'greeter', 'grpc', 'xds'],
      ['productpage-0.default', 'nosuch:80', 'grpc', 'xds'],
    ]);
    assert.ok(Math.abs(Date.parse(seen[0].time) - Date.now()) < 5_000);
  });
});
