// Bootstraps for the two kinds of clients: an Envoy sidecar (YAML) and a
// proxyless gRPC application (the JSON grpc-js-xds and grpc-go read from
// GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG). Both identify the node the
// Istio way, so the server finds the workload in mesh.yaml.
import { isIP } from 'node:net';
import YAML from 'yaml';
import { ADS_SOURCE, HTTP_PROTOCOL_OPTIONS } from './resources/encode.ts';
import { METADATA_KEYS, SIDECAR_DEFAULTS, type SidecarSettings } from './resources/sidecar-settings.ts';
import { TYPE_PREFIX } from '../contracts/envoy-proto.ts';

export interface BootstrapOptions {
  /** `POD.NAMESPACE` of the workload the proxy or client runs for. */
  workload: string;
  /** The xDS server. Default 127.0.0.1:18000. */
  xds?: { host: string; port: number };
  /** The pod IP in the node id. Default 127.0.0.1. */
  ip?: string;
  /** node.cluster, which Envoy requires with ADS: the workload's service (Istio's choice); default the workload id. */
  cluster?: string;
  clusterDomain?: string;
}

export interface EnvoyBootstrapOptions extends BootstrapOptions, Partial<SidecarSettings> {
  /** Incremental (delta) ADS instead of state-of-the-world. */
  delta?: boolean;
  /** Envoy's admin port on 127.0.0.1; 0 lets the kernel pick. Default 15000. */
  adminPort?: number;
}

export const DEFAULT_XDS = { host: '127.0.0.1', port: 18000 };
export const XDS_CLUSTER = 'meshscope-xds';

function splitWorkload(workload: string): { name: string; namespace: string } {
  const dot = workload.lastIndexOf('.');
  if (dot <= 0 || dot === workload.length - 1) {
    throw new Error(`--workload ${JSON.stringify(workload)}: expected POD.NAMESPACE, e.g. productpage-v1-6b746f74dc-9stvs.default`);
  }
  return { name: workload.slice(0, dot), namespace: workload.slice(dot + 1) };
}

function nodeOf(opts: BootstrapOptions, extra: Record<string, string>) {
  const { name, namespace } = splitWorkload(opts.workload);
  const ip = opts.ip ?? '127.0.0.1';
  return {
    id: `sidecar~${ip}~${opts.workload}~${namespace}.svc.${opts.clusterDomain ?? 'cluster.local'}`,
    cluster: opts.cluster ?? opts.workload,
    metadata: { NAME: name, NAMESPACE: namespace, ...extra },
  };
}

export function envoyBootstrap(opts: EnvoyBootstrapOptions): Record<string, unknown> {
  const xds = opts.xds ?? DEFAULT_XDS;
  const s: SidecarSettings = {
    bindAddress: opts.bindAddress ?? SIDECAR_DEFAULTS.bindAddress,
    egressPort: opts.egressPort ?? SIDECAR_DEFAULTS.egressPort,
    ingressPort: opts.ingressPort ?? SIDECAR_DEFAULTS.ingressPort,
    workloadAddress: opts.workloadAddress ?? SIDECAR_DEFAULTS.workloadAddress,
  };
  const metadata = Object.fromEntries(
    (Object.keys(METADATA_KEYS) as (keyof SidecarSettings)[]).map((k) => [METADATA_KEYS[k], String(s[k])]),
  );
  return {
    node: nodeOf(opts, metadata),
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: opts.adminPort ?? 15000 } } },
    dynamic_resources: {
      ads_config: {
        api_type: opts.delta ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      lds_config: ADS_SOURCE,
      cds_config: ADS_SOURCE,
    },
    static_resources: {
      clusters: [
        {
          name: XDS_CLUSTER,
          type: isIP(xds.host) ? 'STATIC' : 'STRICT_DNS',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: XDS_CLUSTER,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: xds.host, port_value: xds.port } } } }] }],
          },
          // ADS is gRPC: the control-plane cluster must speak HTTP/2.
          typed_extension_protocol_options: {
            [HTTP_PROTOCOL_OPTIONS]: { '@type': TYPE_PREFIX + HTTP_PROTOCOL_OPTIONS, explicit_http_config: { http2_protocol_options: {} } },
          },
        },
      ],
    },
  };
}

export function envoyBootstrapYaml(opts: EnvoyBootstrapOptions): string {
  return YAML.stringify(envoyBootstrap(opts), { aliasDuplicateObjects: false });
}

export function grpcBootstrap(opts: BootstrapOptions): Record<string, unknown> {
  const xds = opts.xds ?? DEFAULT_XDS;
  const host = isIP(xds.host) === 6 ? `[${xds.host}]` : xds.host;
  return {
    xds_servers: [{ server_uri: `${host}:${xds.port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { ...nodeOf(opts, {}), locality: {} },
  };
}

export function grpcBootstrapJson(opts: BootstrapOptions): string {
  return `${JSON.stringify(grpcBootstrap(opts), null, 2)}\n`;
}
