import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { MeshSpec, Service, ServiceId, ServicePort, Workload, WorkloadId } from './model.ts';

export interface ResolvedAuthority {
  service: Service;
  /** The service port named by the authority, when it carried one that the service has. */
  port?: ServicePort;
}

/** Node metadata keys Istio sidecars send; proxyless clients may send them too. */
export interface NodeIdentity {
  id: string;
  metadata?: Record<string, unknown>;
}

/**
 * An immutable, indexed view of one mesh.yaml version. Lookups are O(1) so the
 * gateway and analyzer can resolve every request on the hot path.
 */
export class Inventory {
  readonly services: readonly Service[];
  readonly clusterDomain: string;
  /** Content hash: equal specs give equal versions across processes. */
  readonly version: string;
  private readonly byId = new Map<ServiceId, Service>();
  private readonly byHost = new Map<string, Service>();
  private readonly workloadsById = new Map<WorkloadId, Workload>();
  private readonly workloadsByIp = new Map<string, Workload>();

  constructor(spec: MeshSpec) {
    this.services = spec.services;
    this.clusterDomain = spec.clusterDomain;
    this.version = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
    for (const s of spec.services) {
      this.byId.set(s.id, s);
      for (const host of [s.id, `${s.id}.svc`, s.fqdn]) this.byHost.set(host, s);
      if (s.clusterIP) this.byHost.set(s.clusterIP, s);
      for (const w of s.workloads) {
        this.workloadsById.set(w.id, w);
        this.workloadsByIp.set(w.address, w);
      }
    }
  }

  service(id: ServiceId): Service | undefined {
    return this.byId.get(id);
  }

  workload(id: WorkloadId): Workload | undefined {
    return this.workloadsById.get(id);
  }

  workloadByAddress(ip: string): Workload | undefined {
    return this.workloadsByIp.get(stripIpv4Mapped(ip));
  }

  /** Every workload, in inventory order. */
  *workloads(): Iterable<Workload> {
    for (const s of this.services) yield* s.workloads;
  }

  /**
   * Resolves any spelling of a service: `name` (in `callerNamespace`), `name.ns`,
   * `name.ns.svc`, the FQDN or the clusterIP, each with or without `:port`.
   */
  resolveAuthority(authority: string, callerNamespace = 'default'): ResolvedAuthority | undefined {
    const { host, port } = splitHostPort(authority.trim().toLowerCase());
    if (!host) return undefined;
    const bare = host.endsWith('.') ? host.slice(0, -1) : host;
    const service = this.byHost.get(bare) ?? (bare.includes('.') || isIP(bare) ? undefined : this.byId.get(`${bare}.${callerNamespace}`));
    if (!service) return undefined;
    if (port === undefined) return { service };
    const p = service.ports.find((sp) => sp.port === port);
    return p ? { service, port: p } : { service };
  }

  /** Every authority spelling of a service port, for route domains. */
  domainsFor(service: Service, port: ServicePort): string[] {
    const hosts = [service.name, service.id, `${service.id}.svc`, service.fqdn];
    if (service.clusterIP) hosts.push(service.clusterIP);
    return hosts.flatMap((h) => [h, `${h}:${port.port}`]);
  }

  /**
   * The workload a proxy runs for: an Istio node id `sidecar~IP~POD.NS~NS.svc.cluster.local`,
   * a bare `POD.NS`, or node metadata NAME/NAMESPACE (also an IP → workload fallback).
   */
  workloadForNode(node: NodeIdentity): Workload | undefined {
    const md = node.metadata ?? {};
    if (typeof md.NAME === 'string' && typeof md.NAMESPACE === 'string') {
      const w = this.workloadsById.get(`${md.NAME}.${md.NAMESPACE}`);
      if (w) return w;
    }
    const parts = node.id.split('~');
    if (parts.length === 4) {
      return this.workloadsById.get(parts[2]) ?? this.workloadByAddress(parts[1]);
    }
    return this.workloadsById.get(node.id);
  }
}

export function splitHostPort(authority: string): { host: string; port?: number } {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    const host = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    return rest.startsWith(':') ? { host, port: toPort(rest.slice(1)) } : { host };
  }
  const colon = authority.lastIndexOf(':');
  if (colon === -1 || authority.indexOf(':') !== colon) return { host: authority };
  return { host: authority.slice(0, colon), port: toPort(authority.slice(colon + 1)) };
}

function toPort(s: string): number | undefined {
  const n = Number(s);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

function stripIpv4Mapped(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
