// LDS resources. Envoy sidecars get an egress and an ingress listener bound
// where their node metadata says (no iptables: applications call the egress
// port); proxyless gRPC clients get an API listener per name they ask for.
import type { EncodedResource } from '../types.ts';
import { egressAccessLog } from './access-log.ts';
import { ADS_SOURCE, HCM, LISTENER, ROUTER, encodeResource, structOf, typedConfig } from './encode.ts';
import { EGRESS_LISTENER, INGRESS_LISTENER, INBOUND_ROUTE, METADATA_NAMESPACE, OUTBOUND_ROUTE } from './names.ts';
import type { SidecarSettings } from './sidecar-settings.ts';

function connectionManager(statPrefix: string, routeName: string, accessLog = false): Record<string, unknown> {
  return {
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    rds: { route_config_name: routeName, config_source: ADS_SOURCE },
    ...(accessLog ? { access_log: [egressAccessLog()] } : {}),
    // The router must be last: gRPC clients reject an HCM whose final filter is not terminal.
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: typedConfig(ROUTER, {}) }],
  };
}

function hcmFilter(statPrefix: string, routeName: string, accessLog = false): Record<string, unknown> {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: typedConfig(HCM, connectionManager(statPrefix, routeName, accessLog)) };
}

/**
 * `source` is the proxy's `POD.NS`, read back by the catch-all route's header
 * (see routes.ts). With `accessLog` every request is streamed to the
 * analyzer's ALS (see access-log.ts).
 */
export function egressListener(settings: SidecarSettings, source: string, accessLog = false): EncodedResource {
  return encodeResource(LISTENER, EGRESS_LISTENER, {
    name: EGRESS_LISTENER,
    address: { socket_address: { address: settings.bindAddress, port_value: settings.egressPort } },
    metadata: { filter_metadata: { [METADATA_NAMESPACE]: structOf({ source }) } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [{ filters: [hcmFilter('outbound', OUTBOUND_ROUTE, accessLog)] }],
  });
}

export function ingressListener(settings: SidecarSettings): EncodedResource {
  return encodeResource(LISTENER, INGRESS_LISTENER, {
    name: INGRESS_LISTENER,
    address: { socket_address: { address: settings.bindAddress, port_value: settings.ingressPort } },
    traffic_direction: 'INBOUND',
    filter_chains: [{ filters: [hcmFilter('inbound', INBOUND_ROUTE)] }],
  });
}

/** A proxyless client's listener, named exactly as the client asked (`name`, `name:port`, the FQDN...). */
export function grpcListener(name: string, routeName: string): EncodedResource {
  return encodeResource(LISTENER, name, { name, api_listener: { api_listener: typedConfig(HCM, connectionManager(name, routeName)) } });
}
