import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { AuthorizationPolicy } from './authorization.ts';
import type { MeshSpec, Service, ServiceId, ServicePort, Workload, WorkloadId } from './model.ts';
import { VersionedMap } from './versioned-map.ts';

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
 * What changed between two inventory versions, as a source hands it over:
 * whole services (added or replaced) and removed ids; likewise policies.
 */
export interface InventoryDelta {
  services?: readonly Service[];
  removeServices?: readonly ServiceId[];
  authorizationPolicies?: readonly AuthorizationPolicy[];
  /** `namespace/name` of each removed policy. */
  removeAuthorizationPolicies?: readonly string[];
}

interface Indexes {
  byId: VersionedMap<ServiceId, Service>;
  byHost: VersionedMap<string, Service>;
  workloadsById: VersionedMap<WorkloadId, Workload>;
  workloadsByIp: VersionedMap<string, Workload>;
  hashes: VersionedMap<ServiceId, bigint>;
  policies: VersionedMap<string, AuthorizationPolicy>;
  policiesByNs: VersionedMap<string, readonly AuthorizationPolicy[]>;
  sum: bigint;
}

const MASK = (1n << 64n) - 1n;

/**
 * An immutable, indexed view of one inventory version. Lookups are O(1) so the
 * gateway and analyzer can resolve every request on the hot path. `apply()`
 * derives the next version from a delta in O(what changed): indexes are
 * versioned maps sharing their bulk with this version, and the version is a
 * sum of per-service content hashes, patched rather than recomputed.
 */
export class Inventory {
  readonly clusterDomain: string;
  /** Content hash: equal contents give equal versions across processes. */
  readonly version: string;
  private readonly ix: Indexes;
  private servicesList?: readonly Service[];
  private policyList?: readonly AuthorizationPolicy[];
  /** The version this one was derived from by apply(), and what that changed. */
  private readonly parent?: { version: string; services: ReadonlySet<ServiceId>; policies: boolean };

  /** `derived` is apply()'s own: callers pass a spec only. */
  constructor(spec: MeshSpec, derived?: { ix: Indexes; parent: Inventory['parent'] }) {
    this.clusterDomain = spec.clusterDomain;
    if (derived) {
      this.ix = derived.ix;
      this.parent = derived.parent;
    } else {
      this.servicesList = spec.services;
      this.ix = buildIndexes(spec);
    }
    this.version = versionOf(this.clusterDomain, this.ix.sum);
  }

  /** Every service, in order: a replaced service keeps its place, a new one comes last. */
  get services(): readonly Service[] {
    return (this.servicesList ??= [...this.ix.byId.values()]);
  }

  /** Every AuthorizationPolicy, in no particular order. */
  get authorizationPolicies(): readonly AuthorizationPolicy[] {
    return (this.policyList ??= [...this.ix.policies.values()]);
  }

  /** The AuthorizationPolicies of one namespace. */
  policiesIn(namespace: string): readonly AuthorizationPolicy[] {
    return this.ix.policiesByNs.get(namespace) ?? [];
  }

  /**
   * The next version: this one with `delta` applied, sharing everything it does
   * not change. Returns this same inventory when the delta changes nothing.
   */
  apply(delta: InventoryDelta): Inventory {
    const ix = this.ix;
    const removedIds = new Set(delta.removeServices ?? []);
    const upserts = new Map<ServiceId, Service>();
    for (const s of delta.services ?? []) {
      upserts.set(s.id, s);
      removedIds.delete(s.id);
    }
    const changed = new Set<ServiceId>();
    const hashChanges: Array<[ServiceId, bigint | undefined]> = [];
    let sum = ix.sum;
    const newHashes = new Map<ServiceId, bigint>();
    for (const id of removedIds) {
      const h = ix.hashes.get(id);
      if (h === undefined) continue;
      changed.add(id);
      hashChanges.push([id, undefined]);
      sum -= h;
    }
    for (const [id, s] of upserts) {
      const before = ix.hashes.get(id);
      const h = serviceHash(s);
      if (before === h && ix.byId.get(id) !== undefined) continue;
      changed.add(id);
      newHashes.set(id, h);
      hashChanges.push([id, h]);
      sum += h - (before ?? 0n);
    }
    const policyChanges = policyDelta(ix.policies, delta);
    for (const [, p, before] of policyChanges) sum += (p ? policyHash(p) : 0n) - (before ? policyHash(before) : 0n);
    if (changed.size === 0 && policyChanges.length === 0) return this;

    // Removals first, then additions: a workload moving between services, or a
    // host taken over, ends up indexed under its new owner.
    const hostChanges = new Map<string, Service | undefined>();
    const byIdChanges: Array<[ServiceId, Service | undefined]> = [];
    const wlById = new Map<WorkloadId, Workload | undefined>();
    const wlByIp = new Map<string, Workload | undefined>();
    for (const id of changed) {
      const old = ix.byId.get(id);
      if (!old) continue;
      for (const h of hostsOf(old)) if (ix.byHost.get(h)?.id === id) hostChanges.set(h, undefined);
      for (const w of ownWorkloads(old)) {
        if (ix.workloadsById.get(w.id)?.service === id) wlById.set(w.id, undefined);
        if (ix.workloadsByIp.get(w.address)?.service === id) wlByIp.set(w.address, undefined);
      }
    }
    for (const id of changed) {
      const s = upserts.get(id);
      byIdChanges.push([id, s]);
      if (!s) continue;
      for (const h of hostsOf(s)) hostChanges.set(h, s);
      for (const w of ownWorkloads(s)) {
        wlById.set(w.id, w);
        wlByIp.set(w.address, w);
      }
    }
    const touchedNs = new Set<string>();
    for (const [, p, before] of policyChanges) {
      if (p) touchedNs.add(p.namespace);
      if (before) touchedNs.add(before.namespace);
    }
    const policies = policyChanges.length ? ix.policies.with(policyChanges.map(([k, p]) => [k, p] as const)) : ix.policies;
    const next: Indexes = {
      byId: ix.byId.with(byIdChanges),
      byHost: ix.byHost.with(hostChanges),
      workloadsById: ix.workloadsById.with(wlById),
      workloadsByIp: ix.workloadsByIp.with(wlByIp),
      hashes: ix.hashes.with(hashChanges),
      policies,
      policiesByNs: touchedNs.size ? ix.policiesByNs.with([...touchedNs].map((ns) => [ns, policiesOfNamespace(ix.policiesByNs.get(ns), policyChanges, ns)] as const)) : ix.policiesByNs,
      sum: sum & MASK,
    };
    return new Inventory(
      { clusterDomain: this.clusterDomain, services: [] },
      { ix: next, parent: { version: this.version, services: changed, policies: policyChanges.length > 0 } },
    );
  }

  /**
   * The services added, removed or replaced since `previous`, when this version
   * was derived from it by apply(); undefined when unknown (compare everything).
   */
  changedSince(previous: Inventory): ReadonlySet<ServiceId> | undefined {
    if (previous === this) return new Set();
    return this.parent?.version === previous.version ? this.parent.services : undefined;
  }

  /** Whether the AuthorizationPolicies may differ from `previous`'s. */
  policiesChangedSince(previous: Inventory): boolean {
    if (previous === this) return false;
    return this.parent?.version === previous.version ? this.parent.policies : true;
  }

  /**
   * The delta that turns `previous` into this version, in O(what changed), when this one was derived
   * from it by apply(); undefined otherwise (then only the whole spec() tells it). Lets another thread
   * that holds `previous` follow without being sent the whole mesh again.
   */
  deltaSince(previous: Inventory): InventoryDelta | undefined {
    const changed = this.changedSince(previous);
    if (!changed) return undefined;
    const services: Service[] = [];
    const removeServices: ServiceId[] = [];
    for (const id of changed) {
      const s = this.service(id);
      if (s) services.push(s);
      else removeServices.push(id);
    }
    if (!this.policiesChangedSince(previous)) return { services, removeServices };
    const policies = this.authorizationPolicies;
    const keys = new Set(policies.map(policyKey));
    const removeAuthorizationPolicies = previous.authorizationPolicies.map(policyKey).filter((k) => !keys.has(k));
    return { services, removeServices, authorizationPolicies: policies, removeAuthorizationPolicies };
  }

  /** What this version is made of, to build it again elsewhere (`new Inventory(spec)` gives the same version). */
  spec(): MeshSpec {
    return { clusterDomain: this.clusterDomain, services: this.services, authorizationPolicies: this.authorizationPolicies };
  }

  /** The delta that turns this inventory into `spec` (services and policies compared by content). */
  deltaTo(spec: MeshSpec): InventoryDelta {
    const services = spec.services.filter((s) => this.ix.hashes.get(s.id) !== serviceHash(s));
    const ids = new Set(spec.services.map((s) => s.id));
    const removeServices = [...this.ix.byId.values()].filter((s) => !ids.has(s.id)).map((s) => s.id);
    const policies = spec.authorizationPolicies ?? [];
    const keys = new Set(policies.map(policyKey));
    return {
      services,
      removeServices,
      authorizationPolicies: policies,
      removeAuthorizationPolicies: this.authorizationPolicies.map(policyKey).filter((k) => !keys.has(k)),
    };
  }

  service(id: ServiceId): Service | undefined {
    return this.ix.byId.get(id);
  }

  workload(id: WorkloadId): Workload | undefined {
    return this.ix.workloadsById.get(id);
  }

  workloadByAddress(ip: string): Workload | undefined {
    return this.ix.workloadsByIp.get(stripIpv4Mapped(ip));
  }

  /** Every workload once (under the service it calls as), in inventory order. */
  *workloads(): Iterable<Workload> {
    for (const s of this.services) yield* ownWorkloads(s);
  }

  /**
   * Resolves any spelling of a service: `name` (in `callerNamespace`), `name.ns`,
   * `name.ns.svc`, the FQDN or the clusterIP, each with or without `:port`.
   */
  resolveAuthority(authority: string, callerNamespace = 'default'): ResolvedAuthority | undefined {
    const { host, port } = splitHostPort(authority.trim().toLowerCase());
    if (!host) return undefined;
    const bare = host.endsWith('.') ? host.slice(0, -1) : host;
    const short = bare.includes('.') || isIP(bare) ? undefined : this.ix.byId.get(`${bare}.${callerNamespace}`);
    const service = this.ix.byHost.get(bare) ?? (short?.kind === 'WorkloadGroup' ? undefined : short);
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
      const w = this.ix.workloadsById.get(`${md.NAME}.${md.NAMESPACE}`);
      if (w) return w;
    }
    const parts = node.id.split('~');
    if (parts.length === 4) {
      return this.ix.workloadsById.get(parts[2]) ?? this.workloadByAddress(parts[1]);
    }
    return this.ix.workloadsById.get(node.id);
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

/** Host spellings that resolve to a service; a WorkloadGroup has none (nothing calls it). */
function hostsOf(s: Service): string[] {
  if (s.kind === 'WorkloadGroup') return [];
  const hosts = s.kind === 'ServiceEntry' ? [s.fqdn] : [s.id, `${s.id}.svc`, s.fqdn];
  if (s.clusterIP) hosts.push(s.clusterIP);
  return hosts;
}

/**
 * The workloads a service lists as its own callers. A pod several Services select
 * is listed under each as an endpoint but indexed once, under the service it calls as.
 */
function* ownWorkloads(s: Service): Iterable<Workload> {
  for (const w of s.workloads) if (w.service === s.id) yield w;
}

function buildIndexes(spec: MeshSpec): Indexes {
  const byId = new Map<ServiceId, Service>();
  const byHost = new Map<string, Service>();
  const workloadsById = new Map<WorkloadId, Workload>();
  const workloadsByIp = new Map<string, Workload>();
  const hashes = new Map<ServiceId, bigint>();
  let sum = 0n;
  for (const s of spec.services) {
    byId.set(s.id, s);
    for (const host of hostsOf(s)) byHost.set(host, s);
    for (const w of ownWorkloads(s)) {
      workloadsById.set(w.id, w);
      workloadsByIp.set(w.address, w);
    }
    const h = serviceHash(s);
    sum -= hashes.get(s.id) ?? 0n;
    hashes.set(s.id, h);
    sum += h;
  }
  const policies = new Map<string, AuthorizationPolicy>();
  const byNs = new Map<string, AuthorizationPolicy[]>();
  for (const p of spec.authorizationPolicies ?? []) {
    policies.set(policyKey(p), p);
    sum += policyHash(p);
  }
  for (const p of policies.values()) {
    let list = byNs.get(p.namespace);
    if (!list) byNs.set(p.namespace, (list = []));
    list.push(p);
  }
  return {
    byId: VersionedMap.adopt(byId),
    byHost: VersionedMap.adopt(byHost),
    workloadsById: VersionedMap.adopt(workloadsById),
    workloadsByIp: VersionedMap.adopt(workloadsByIp),
    hashes: VersionedMap.adopt(hashes),
    policies: VersionedMap.adopt(policies),
    policiesByNs: VersionedMap.adopt<string, readonly AuthorizationPolicy[]>(byNs),
    sum: sum & MASK,
  };
}

type PolicyChange = [key: string, next: AuthorizationPolicy | undefined, before: AuthorizationPolicy | undefined];

function policyDelta(current: VersionedMap<string, AuthorizationPolicy>, delta: InventoryDelta): PolicyChange[] {
  const out = new Map<string, PolicyChange>();
  for (const key of delta.removeAuthorizationPolicies ?? []) {
    const before = current.get(key);
    if (before) out.set(key, [key, undefined, before]);
  }
  for (const p of delta.authorizationPolicies ?? []) {
    const key = policyKey(p);
    const before = current.get(key);
    out.delete(key);
    if (before && policyHash(before) === policyHash(p)) continue;
    out.set(key, [key, p, before]);
  }
  return [...out.values()];
}

function policiesOfNamespace(before: readonly AuthorizationPolicy[] | undefined, changes: PolicyChange[], ns: string): readonly AuthorizationPolicy[] | undefined {
  const byKey = new Map((before ?? []).map((p) => [policyKey(p), p]));
  for (const [key, p] of changes) {
    if (p && p.namespace === ns) byKey.set(key, p);
    else byKey.delete(key);
  }
  return byKey.size ? [...byKey.values()] : undefined;
}

export function policyKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

function hash64(text: string): bigint {
  return BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 16)}`);
}

function serviceHash(s: Service): bigint {
  return hash64(`s\0${JSON.stringify(s)}`);
}

function policyHash(p: AuthorizationPolicy): bigint {
  return hash64(`p\0${JSON.stringify(p)}`);
}

function versionOf(clusterDomain: string, sum: bigint): string {
  return ((hash64(clusterDomain) + sum) & MASK).toString(16).padStart(16, '0');
}
