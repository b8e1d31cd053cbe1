// The Sidecar meshscope wants for one workload group: a pure function of the
// group, its scope and the options, so what is written can be shown (dry run,
// API) and compared with what is there without touching the API server.
import type { Service } from '../contracts/index.ts';
import type { WorkloadGroup } from './groups.ts';
import type { Instance } from './instance.ts';

export const SIDECAR_API_VERSION = 'networking.istio.io/v1';

/** Where out-of-scope calls go: the lazy gateway's Service (`--gateway-service NAME.NS:PORT`). */
export interface GatewayService {
  name: string;
  namespace: string;
  port: number;
}

export interface SidecarSpecOptions {
  /** `ns/host` entries every Sidecar keeps (istio-system/*, meshscope's own namespace). */
  alwaysVisible: readonly string[];
  gateway?: GatewayService;
  clusterDomain: string;
  /** The install writing it (its labels say so). */
  instance: Instance;
}

export interface SidecarSpec {
  workloadSelector: { labels: Record<string, string> };
  egress: Array<{ hosts: string[] }>;
  outboundTrafficPolicy?: {
    mode: 'ALLOW_ANY' | 'REGISTRY_ONLY';
    egressProxy?: { host: string; port: { number: number } };
  };
}

export interface SidecarObject {
  apiVersion: typeof SIDECAR_API_VERSION;
  kind: 'Sidecar';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: SidecarSpec;
}

/** `ns/fqdn`, the form Sidecar egress hosts take. */
export function egressHost(service: Service): string {
  return `${service.namespace}/${service.fqdn}`;
}

export function gatewayFqdn(gw: GatewayService, clusterDomain: string): string {
  return `${gw.name}.${gw.namespace}.svc.${clusterDomain}`;
}

export function buildSidecar(group: WorkloadGroup, scope: readonly Service[], opts: SidecarSpecOptions): SidecarObject {
  const hosts = [...new Set([...opts.alwaysVisible, ...scope.map(egressHost).sort()])];
  const spec: SidecarSpec = {
    workloadSelector: { labels: { ...group.selector } },
    egress: [{ hosts }],
  };
  if (opts.gateway) {
    // Calls to hosts outside egress.hosts leave through the lazy gateway, which carries them and reports the edge.
    spec.outboundTrafficPolicy = {
      mode: 'ALLOW_ANY',
      egressProxy: { host: gatewayFqdn(opts.gateway, opts.clusterDomain), port: { number: opts.gateway.port } },
    };
  }
  return {
    apiVersion: SIDECAR_API_VERSION,
    kind: 'Sidecar',
    metadata: { name: group.name, namespace: group.namespace, labels: { ...opts.instance.labels } },
    spec,
  };
}
