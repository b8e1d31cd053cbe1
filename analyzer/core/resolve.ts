// Who called whom, in inventory terms. Source: x-meshscope-source / the native
// source, then the shipper's pod, then the caller IP. Destination: the
// outbound cluster's host, else the authority (any spelling; short names in
// the caller's namespace; clusterIP; pod IP), else the TLS server name, else
// the upstream endpoint IP.
import { splitHostPort, type Inventory, type Service, type Workload } from '../../contracts/index.ts';
import type { NormalizedRecord } from './types.ts';

export interface Caller {
  service: Service;
  workload?: Workload;
}

/** Lookups repeat the same few spellings, so results are cached; the cap bounds hostile input. */
const CACHE_CAP = 50_000;

export class Resolver {
  /** Per caller namespace, then per spelling: no key string is built per record. */
  private readonly hosts = new Map<string, Map<string, Service | string>>();
  private hostCount = 0;
  private readonly callers = new Map<string, Caller | null>();
  private readonly byWorkload = new Map<Workload, Caller>();

  constructor(readonly inventory: Inventory) {}

  /** The caller, or the spelling that named no workload or service. */
  source(rec: NormalizedRecord): Caller | string {
    if (rec.source !== undefined) {
      const c = this.caller(rec.source);
      if (c) return c;
    }
    if (rec.pod !== undefined && !rec.inbound) {
      const w = this.inventory.workload(rec.pod);
      if (w) return this.callerOf(w);
    }
    if (rec.sourceAddress !== undefined) {
      const w = this.inventory.workloadByAddress(rec.sourceAddress);
      if (w) return this.callerOf(w);
    }
    return rec.source ?? (rec.inbound ? undefined : rec.pod) ?? rec.sourceAddress ?? '-';
  }

  /** The destination service, or the host (port stripped) that is not in the inventory. */
  destination(rec: NormalizedRecord, callerNamespace: string): Service | string {
    if (rec.clusterHost !== undefined) return this.host(rec.clusterHost, callerNamespace);
    if (rec.authority !== undefined) return this.host(rec.authority, callerNamespace);
    if (rec.sni !== undefined) return this.host(rec.sni, callerNamespace);
    return this.host(rec.upstreamHost ?? '', callerNamespace);
  }

  private host(authority: string, ns: string): Service | string {
    let inNs = this.hosts.get(ns);
    let hit = inNs?.get(authority);
    if (hit === undefined) {
      hit = this.inventory.resolveAuthority(authority, ns)?.service ?? this.podService(authority) ?? hostKey(authority);
      if (this.hostCount >= CACHE_CAP) {
        this.hosts.clear();
        this.hostCount = 0;
        inNs = undefined;
      }
      if (!inNs) this.hosts.set(ns, (inNs = new Map()));
      inNs.set(authority, hit);
      this.hostCount++;
    }
    return hit;
  }

  /** A headless call or a passthrough log names the pod IP: the pod's service is the callee. */
  private podService(authority: string): Service | undefined {
    const w = this.inventory.workloadByAddress(splitHostPort(authority.trim()).host);
    return w ? this.inventory.service(w.service) : undefined;
  }

  private caller(spelling: string): Caller | undefined {
    let hit = this.callers.get(spelling);
    if (hit === undefined) {
      const inv = this.inventory;
      const w = inv.workload(spelling) ?? (spelling.includes('~') ? inv.workloadForNode({ id: spelling }) : undefined);
      const s = w ? undefined : inv.service(spelling);
      hit = w ? this.callerOf(w) : s ? { service: s } : null;
      if (this.callers.size >= CACHE_CAP) this.callers.clear();
      this.callers.set(spelling, hit);
    }
    return hit ?? undefined;
  }

  /** One Caller per workload (the inventory's workloads are a bounded set). */
  private callerOf(w: Workload): Caller {
    let c = this.byWorkload.get(w);
    if (c === undefined) {
      const service = this.inventory.service(w.service);
      if (!service) throw new Error(`inventory: workload ${w.id} names service ${w.service}, which it does not list`);
      this.byWorkload.set(w, (c = { service, workload: w }));
    }
    return c;
  }
}

function hostKey(authority: string): string {
  const host = splitHostPort(authority.trim().toLowerCase()).host;
  return host.endsWith('.') ? host.slice(0, -1) : host || '-';
}
