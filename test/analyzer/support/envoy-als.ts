// An Envoy sidecar bootstrap (ADS from the analyzer's xDS server) plus two
// static listeners that log to the analyzer's Access Log Service: an HTTP one
// answering directly, and a TCP proxy to an outbound-named cluster. The HTTP
// listener carries the TCP logger too, as Istio attaches both ALS providers of a
// Telemetry resource to every listener: its per-request TCP entries must not count.
// A third listener (both loggers) routes HTTP to an outbound-named cluster, as a
// sidecar's outbound listener does, so those entries name a destination.
import { envoyBootstrap } from '../../../xds-server/index.ts';

const HTTP_OPTS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function grpcLog(type: 'http' | 'tcp') {
  const common = {
    log_name: 'meshscope',
    transport_api_version: 'V3',
    buffer_flush_interval: '0.05s',
    grpc_service: { envoy_grpc: { cluster_name: 'meshscope_als' } },
  };
  return type === 'http'
    ? {
        name: 'envoy.access_loggers.http_grpc',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig',
          common_config: common,
          additional_request_headers_to_log: ['x-meshscope-source'],
        },
      }
    : {
        name: 'envoy.access_loggers.tcp_grpc',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig', common_config: common },
      };
}

const staticCluster = (name: string, port: number, http2 = false) => ({
  name,
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  ...(http2
    ? { typed_extension_protocol_options: { [HTTP_OPTS]: { '@type': `type.googleapis.com/${HTTP_OPTS}`, explicit_http_config: { http2_protocol_options: {} } } } }
    : {}),
});

const hcm = (name: string, route: object) => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: name,
            access_log: [grpcLog('http'), grpcLog('tcp')],
            route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, ...route }] }] },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          },
        },
      ],
    },
  ],
});

export function alsBootstrap(opts: { workload: string; xdsPort: number; alsPort: number; tcpUpstreamPort: number; tcpCluster: string; httpUpstreamPort: number; httpCluster: string }) {
  const b = envoyBootstrap({ workload: opts.workload, cluster: 'als-test', xds: { host: '127.0.0.1', port: opts.xdsPort }, adminPort: 0, egressPort: 0, ingressPort: 0 }) as any;
  b.static_resources.clusters.push(
    staticCluster('meshscope_als', opts.alsPort, true),
    staticCluster(opts.tcpCluster, opts.tcpUpstreamPort),
    staticCluster(opts.httpCluster, opts.httpUpstreamPort),
  );
  b.static_resources.listeners = [
    hcm('logged_http', { direct_response: { status: 200, body: { inline_string: 'ok' } } }),
    hcm('logged_http_upstream', { route: { cluster: opts.httpCluster } }),
    {
      name: 'logged_tcp',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: {
                '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                stat_prefix: 'logged_tcp',
                cluster: opts.tcpCluster,
                access_log: [grpcLog('tcp')],
              },
            },
          ],
        },
      ],
    },
  ];
  return b;
}
