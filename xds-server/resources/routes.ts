// RDS resources. The Envoy profile's outbound route configuration is built
// from per-service fragments: a protobuf message's encoding is the
// concatenation of its fields' encodings, so each service's virtual hosts are
// serialized once and a scope's route configuration is assembled by copying
// bytes, never by re-encoding the mesh.
import type { Inventory, Service } from '../../contracts/index.ts';
import { SOURCE_HEADER } from '../../contracts/index.ts';
import { encodeMessage } from '../../contracts/envoy-proto.ts';
import type { EncodedResource } from '../types.ts';
import { ROUTE, encodeResource, fromBytes } from './encode.ts';
import { GATEWAY_CLUSTER, INBOUND_ROUTE, METADATA_NAMESPACE, OUTBOUND_ROUTE, defaultPort, grpcRouteName, httpPorts, inboundClusterName, outboundClusterName } from './names.ts';

// Streams (gRPC, long polls) must not be cut by Envoy's 15 s default.
const NO_TIMEOUT = { seconds: 0 };

function routeTo(cluster: string): Record<string, unknown> {
  return { match: { prefix: '/' }, route: { cluster, timeout: NO_TIMEOUT } };
}

/**
 * The virtual hosts of one service, one per HTTP port. `host:port` spellings
 * go to their port; a spelling without a port goes to the default port (80,
 * else the first). The short name is only a domain for callers in the
 * service's namespace: two namespaces may both have a `reviews`, and Envoy
 * rejects a route configuration whose virtual hosts share a domain.
 */
export function serviceVirtualHosts(inventory: Inventory, service: Service, callerNamespace: string): Record<string, unknown>[] {
  const fallback = defaultPort(service);
  const local = callerNamespace === service.namespace;
  return httpPorts(service).map((port) => {
    const all = inventory.domainsFor(service, port).filter((d) => local || (d !== service.name && d !== `${service.name}:${port.port}`));
    const suffix = `:${port.port}`;
    const bare = new Set(all.filter((d) => !(d.endsWith(suffix) && all.includes(d.slice(0, -suffix.length)))));
    const domains = port === fallback ? all : all.filter((d) => !bare.has(d));
    return { name: `${service.fqdn}:${port.port}`, domains, routes: [routeTo(outboundClusterName(service, port))] };
  });
}

/** One service's virtual hosts as an encoded RouteConfiguration fragment (field 2 only). */
export function virtualHostsFragment(inventory: Inventory, service: Service, callerNamespace: string): Buffer {
  return encodeMessage(ROUTE, { virtual_hosts: serviceVirtualHosts(inventory, service, callerNamespace) });
}

/**
 * The catch-all: anything not in scope goes to the lazy gateway, which learns
 * the caller from `x-meshscope-source`. The value comes from the egress
 * listener's metadata, so this fragment — and the route configuration — is
 * the same for every node with the same scope. Overwriting the header keeps
 * an application from posing as another workload.
 */
export function gatewayFragment(hasGateway: boolean): Buffer {
  const action = hasGateway
    ? routeTo(GATEWAY_CLUSTER)
    : {
        match: { prefix: '/' },
        direct_response: {
          status: 503,
          body: { inline_string: 'meshscope: this host is not in the proxy\'s scope and the xDS server was started without --gateway\n' },
        },
      };
  return encodeMessage(ROUTE, {
    virtual_hosts: [
      {
        name: GATEWAY_CLUSTER,
        domains: ['*'],
        routes: [action],
        request_headers_to_add: [
          {
            header: { key: SOURCE_HEADER, value: `%METADATA(LISTENER:${METADATA_NAMESPACE}:source)%` },
            append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
          },
        ],
      },
    ],
  });
}

export function outboundRoute(fragments: readonly Buffer[], gateway: Buffer): EncodedResource {
  const head = encodeMessage(ROUTE, { name: OUTBOUND_ROUTE });
  return fromBytes(ROUTE, OUTBOUND_ROUTE, Buffer.concat([head, ...fragments, gateway]));
}

/** The ingress side: `*:PORT` picks the service port the caller named; anything else the default port. */
export function inboundRoute(service: Service): EncodedResource | undefined {
  const ports = httpPorts(service);
  const fallback = defaultPort(service);
  if (!fallback) return undefined;
  const perPort =
    ports.length > 1 ? ports.map((p) => ({ name: `inbound:${p.port}`, domains: [`*:${p.port}`], routes: [routeTo(inboundClusterName(p))] })) : [];
  return encodeResource(ROUTE, INBOUND_ROUTE, {
    name: INBOUND_ROUTE,
    virtual_hosts: [...perPort, { name: 'inbound', domains: ['*'], routes: [routeTo(inboundClusterName(fallback))] }],
  });
}

/**
 * Proxyless: reached only through listeners that resolved to this service
 * port, so `*` matches whichever spelling the client used as its authority.
 */
export function grpcRoute(service: Service, port: Service['ports'][number]): EncodedResource {
  const name = grpcRouteName(service, port);
  return encodeResource(ROUTE, name, {
    name,
    virtual_hosts: [{ name, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: outboundClusterName(service, port) } }] }],
  });
}
