// The Envoy profile's egress access log, streamed to the analyzer's gRPC
// Access Log Service. Once a dependency is in scope its calls go straight to
// the backend and no longer pass the lazy gateway, so without this log the
// analyzer would never see the dependency again and drop it from the scope
// after --dependency-ttl, sending the next call back through the gateway.
import type { EncodedResource } from '../types.ts';
import { fixedAddressCluster } from './clusters.ts';
import { typedConfig } from './encode.ts';
import type { HostPort } from './host-port.ts';
import { ACCESS_LOG_CLUSTER } from './names.ts';

export const HTTP_GRPC_ACCESS_LOG = 'envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig';
/** The log's name in each stream's identifier: tells the analyzer the entries come from a meshscope egress listener. */
export const ACCESS_LOG_NAME = 'meshscope';

/** ALS is gRPC, hence HTTP/2. It arrives by CDS before the listener that names it (CDS is pushed before LDS). */
export function accessLogCluster(als: HostPort): EncodedResource {
  return fixedAddressCluster(ACCESS_LOG_CLUSTER, als, { explicit_http_config: { http2_protocol_options: {} } });
}

let entry: Record<string, unknown> | undefined;

/**
 * The HttpConnectionManager `access_log` entry. `content-type` is logged so
 * gRPC calls are told from other HTTP/2; `x-meshscope-source` is not, on
 * purpose: on a direct route it would be whatever the application sent, so
 * the analyzer takes the caller from the reporting node instead (see
 * analyzer/sources/als-convert.ts). `x-request-id` is part of every entry.
 */
export function egressAccessLog(): Record<string, unknown> {
  entry ??= {
    name: 'envoy.access_loggers.http_grpc',
    typed_config: typedConfig(HTTP_GRPC_ACCESS_LOG, {
      common_config: {
        log_name: ACCESS_LOG_NAME,
        transport_api_version: 'V3',
        grpc_service: { envoy_grpc: { cluster_name: ACCESS_LOG_CLUSTER } },
      },
      additional_request_headers_to_log: ['content-type'],
    }),
  };
  return entry;
}
