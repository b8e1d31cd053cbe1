// Resource names. Outbound clusters follow Istio's `outbound|PORT||FQDN` so the
// analyzer reads the destination service straight from an access log's
// `upstream_cluster`; inbound clusters follow `inbound|PORT||` (PORT = the
// workload's target port, as Istio names them).
import type { Service, ServicePort } from '../../contracts/index.ts';

export const EGRESS_LISTENER = 'egress';
export const INGRESS_LISTENER = 'ingress';
/** The Envoy profile's outbound route configuration: scoped services + catch-all. */
export const OUTBOUND_ROUTE = 'outbound';
export const INBOUND_ROUTE = 'inbound';
export const GATEWAY_CLUSTER = 'meshscope-gateway';
/** The analyzer's Access Log Service, which the egress listener streams its log to. */
export const ACCESS_LOG_CLUSTER = 'meshscope-als';
/** Listener metadata namespace carrying the proxy's identity for the catch-all header. */
export const METADATA_NAMESPACE = 'meshscope';

export function outboundClusterName(service: Service, port: ServicePort): string {
  return `outbound|${port.port}||${service.fqdn}`;
}

export function inboundClusterName(port: ServicePort): string {
  return `inbound|${port.targetPort}||`;
}

/** Proxyless route configurations, one per service port, shared by every listener name that resolves to it. */
export function grpcRouteName(service: Service, port: ServicePort): string {
  return `${service.fqdn}:${port.port}`;
}

/** Ports the HTTP listeners can route: everything but raw TCP. */
export function httpPorts(service: Service): ServicePort[] {
  return service.ports.filter((p) => p.protocol !== 'tcp');
}

export function isH2(port: ServicePort): boolean {
  return port.protocol === 'http2' || port.protocol === 'grpc';
}

/**
 * The port a host spelling without `:port` means: 80 when the service has it
 * (what `http://name/` means everywhere), else the first routable port.
 */
export function defaultPort(service: Service): ServicePort | undefined {
  const ports = httpPorts(service);
  return ports.find((p) => p.port === 80) ?? ports[0];
}
