// CDS resources of both profiles. Outbound clusters depend only on the service
// port, so one encoding serves every node (Envoy and proxyless alike; gRPC
// clients ignore the upstream protocol options).
import { isIP } from 'node:net';
import { SIDECAR_GATEWAY_IDLE_TIMEOUT_MS, type Service, type ServicePort } from '../../contracts/index.ts';
import type { EncodedResource } from '../types.ts';
import type { HostPort } from './host-port.ts';
import { ADS_SOURCE, CLUSTER, HTTP_PROTOCOL_OPTIONS, encodeResource, typedConfig } from './encode.ts';
import { GATEWAY_CLUSTER, inboundClusterName, isH2, outboundClusterName } from './names.ts';

const CONNECT_TIMEOUT = { seconds: 5 };

function protocolOptions(explicit: Record<string, unknown>): Record<string, unknown> {
  return { typed_extension_protocol_options: { [HTTP_PROTOCOL_OPTIONS]: typedConfig(HTTP_PROTOCOL_OPTIONS, explicit) } };
}

/** h2 and gRPC backends must be spoken to in HTTP/2 whatever the caller used. */
function upstreamProtocol(port: ServicePort): Record<string, unknown> {
  return isH2(port) ? protocolOptions({ explicit_http_config: { http2_protocol_options: {} } }) : {};
}

export function outboundCluster(service: Service, port: ServicePort): EncodedResource {
  const name = outboundClusterName(service, port);
  return encodeResource(CLUSTER, name, {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE },
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    ...upstreamProtocol(port),
  });
}

function staticAssignment(name: string, host: string, port: number): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
  };
}

/**
 * A cluster at one address given on the command line (the lazy gateway, the
 * analyzer's ALS): inline rather than by EDS, since it never changes while the
 * server runs, is the same for every node (encoded once), and a proxy must
 * reach it before it has anything else. A host name becomes STRICT_DNS.
 */
export function fixedAddressCluster(name: string, at: HostPort, explicitProtocol: Record<string, unknown>): EncodedResource {
  return encodeResource(CLUSTER, name, {
    name,
    type: isIP(at.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    load_assignment: staticAssignment(name, at.host, at.port),
    ...protocolOptions(explicitProtocol),
  });
}

export function gatewayCluster(gateway: HostPort): EncodedResource {
  // The gateway serves HTTP/1.1, h2 and gRPC callers: keep the caller's protocol.
  // Idle connections close on this side first (Envoy's default is an hour), so none races the gateway's close.
  return fixedAddressCluster(GATEWAY_CLUSTER, gateway, {
    use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    common_http_protocol_options: { idle_timeout: { seconds: SIDECAR_GATEWAY_IDLE_TIMEOUT_MS / 1000 } },
  });
}

/** The workload's own port behind the ingress listener. */
export function inboundCluster(port: ServicePort, workloadAddress: string): EncodedResource {
  const name = inboundClusterName(port);
  return encodeResource(CLUSTER, name, {
    name,
    type: 'STATIC',
    connect_timeout: CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
    load_assignment: staticAssignment(name, workloadAddress, port.targetPort),
    ...upstreamProtocol(port),
  });
}
