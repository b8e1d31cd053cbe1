// The Kubernetes inventory source: informers on Namespaces, Services,
// EndpointSlices, Pods, Istio ServiceEntries and AuthorizationPolicies; their
// handlers only note what is dirty (never block); a debounced flush rebuilds
// the dirty services alone and publishes them as one delta, so a new pod costs
// its services, not the mesh. How pods map to callers: map-service.ts.
import { Inventory, policyKey, type InventoryDelta } from '../inventory.ts';
import type { AuthorizationPolicy } from '../authorization.ts';
import { ISTIO_ROOT_NAMESPACE } from '../authorization.ts';
import type { Service, ServiceId, Workload } from '../model.ts';
import { InventoryPublisher, type InventorySource } from '../source.ts';
import { connect, type KubeConnection } from './client.ts';
import { Informer, type InformerHandlers } from './informer.ts';
import { mapAuthorizationPolicy, policyModel } from './map-authz.ts';
import { chooseCaller, groupName, mapService, mapServiceEntryHost, mapWorkloadGroup, selects, serviceEntryId, workloadOf, type PodLookup } from './map-service.ts';
import { NamespaceSelection, type LabelSelector } from './namespaces.ts';
import {
  key,
  trimEndpointSlice,
  trimNamespace,
  trimPod,
  trimService,
  trimServiceEntry,
  type EndpointSliceObj,
  type Meta,
  type NamespaceObj,
  type PodObj,
  type ServiceEntryObj,
  type ServiceObj,
} from './objects.ts';

export interface KubernetesSourceOptions {
  /** A kubeconfig file; without it, in-cluster service-account credentials. */
  kubeconfig?: string;
  /** Like Istio's discoverySelectors: a namespace matching any is in (all, when none). */
  namespaceSelectors?: readonly LabelSelector[];
  /** Namespaces to leave out besides the system ones (meshscope's own). */
  excludeNamespaces?: readonly string[];
  clusterDomain?: string;
  /** Istio's root namespace: its AuthorizationPolicies apply mesh-wide. Default istio-system. */
  rootNamespace?: string;
  /** How long changes gather before one delta is applied. Default 50 ms. */
  debounceMs?: number;
  log?: (line: string) => void;
  /** An existing connection (tests); otherwise made from `kubeconfig`. */
  connection?: KubeConnection;
}

export interface KubernetesSourceStats {
  /** Full lists per resource path (1 each after the initial sync; more after relists). */
  lists: Record<string, number>;
  watches: Record<string, number>;
  flushes: number;
  lastFlushMs: number;
  objects: Record<string, number>;
}

type PodKey = string;

export class KubernetesInventorySource extends InventoryPublisher implements InventorySource {
  readonly origin: string;
  private readonly conn: KubeConnection;
  private readonly selection: NamespaceSelection;
  private readonly domain: string;
  private readonly root: string;
  private readonly debounceMs: number;
  private readonly log: (line: string) => void;
  private readonly informers: Informer<any>[] = [];
  private namespaces!: Informer<NamespaceObj>;
  private services!: Informer<ServiceObj>;
  private slices!: Informer<EndpointSliceObj>;
  private pods!: Informer<PodObj>;
  private serviceEntries!: Informer<ServiceEntryObj>;
  private policies!: Informer<AuthorizationPolicy & Meta>;

  // Indexes kept by the handlers.
  private readonly nsServices = new Map<string, Set<string>>();
  /** ns → `label=value` (a service's first selector term) → service names, to find who selects a pod. */
  private readonly selectorIndex = new Map<string, Map<string, Set<string>>>();
  private readonly nsPods = new Map<string, Set<PodKey>>();
  private readonly podsByIp = new Map<string, PodKey>();
  private readonly slicesOf = new Map<ServiceId, Set<string>>();
  private readonly endpointOf = new Map<PodKey, Set<ServiceId>>();
  private readonly seIds = new Map<ServiceId, Set<string>>();
  private readonly nsSelected = new Map<string, boolean>();

  // Derived at flush time.
  private readonly callerOf = new Map<PodKey, ServiceId>();
  private readonly members = new Map<ServiceId, Set<PodKey>>();
  private readonly workloads = new Map<PodKey, Workload>();

  // What the next flush revisits.
  private readonly dirtyServices = new Set<ServiceId>();
  private readonly dirtyPods = new Set<PodKey>();
  private readonly dirtyCallerNs = new Set<string>();
  private readonly dirtyNs = new Set<string>();
  private readonly dirtyPolicies = new Set<string>();
  private timer?: NodeJS.Timeout;
  private live = false;
  private flushes = 0;
  private lastFlushMs = 0;

  private constructor(opts: KubernetesSourceOptions) {
    const domain = opts.clusterDomain ?? 'cluster.local';
    super(new Inventory({ clusterDomain: domain, services: [] }));
    this.conn = opts.connection ?? connect(opts.kubeconfig);
    this.origin = `kubernetes ${this.conn.server}`;
    this.domain = domain;
    this.root = opts.rootNamespace ?? ISTIO_ROOT_NAMESPACE;
    this.selection = new NamespaceSelection(opts.namespaceSelectors, opts.excludeNamespaces);
    this.debounceMs = opts.debounceMs ?? 50;
    this.log = opts.log ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** Lists everything, builds the first inventory, then follows the API server; rejects when the first lists fail. */
  static async start(opts: KubernetesSourceOptions = {}): Promise<KubernetesInventorySource> {
    const source = new KubernetesInventorySource(opts);
    try {
      await source.begin();
    } catch (err) {
      source.close();
      throw new Error(`${source.origin}: cannot list the inventory: ${(err as Error).message}`);
    }
    return source;
  }

  private async begin(): Promise<void> {
    const inf = <T extends Meta>(path: string, transform: (raw: any) => T, handlers: InformerHandlers<T>) => {
      const i = new Informer<T>(this.conn, { path, transform, handlers, log: this.log });
      this.informers.push(i);
      return i;
    };
    this.namespaces = inf('/api/v1/namespaces', trimNamespace, { upsert: (n) => this.namespaceChanged(n.name), remove: (n) => this.namespaceChanged(n.name) });
    this.services = inf('/api/v1/services', trimService, { upsert: (s, prev) => this.serviceChanged(s, prev), remove: (s) => this.serviceChanged(undefined, s) });
    this.slices = inf('/apis/discovery.k8s.io/v1/endpointslices', trimEndpointSlice, {
      upsert: (s, prev) => this.sliceChanged(s, prev),
      remove: (s) => this.sliceChanged(undefined, s),
    });
    this.pods = inf('/api/v1/pods', trimPod, { upsert: (p, prev) => this.podChanged(p, prev), remove: (p) => this.podChanged(undefined, p) });
    this.serviceEntries = inf('/apis/networking.istio.io/v1/serviceentries', trimServiceEntry, {
      upsert: (e, prev) => this.serviceEntryChanged(e, prev),
      remove: (e) => this.serviceEntryChanged(undefined, e),
    });
    this.policies = inf('/apis/security.istio.io/v1/authorizationpolicies', mapAuthorizationPolicy, {
      upsert: (p) => this.mark(this.dirtyPolicies, key(p)),
      remove: (p) => this.mark(this.dirtyPolicies, key(p)),
    });
    const started = performance.now();
    await Promise.all(
      this.informers.map((i) =>
        i.start().catch((err: Error & { statusCode?: number }) => {
          // Istio's CRDs may not be installed: a cluster without Istio still has an inventory.
          if (err.statusCode === 404 && i.path.includes('istio.io/')) {
            this.log(`kubernetes: ${i.path} is not served (Istio's CRDs are not installed?): read without it`);
            i.stop();
            return;
          }
          throw err;
        }),
      ),
    );
    const listed = performance.now();
    this.flush();
    this.live = true;
    const inv = this.inventory;
    this.log(
      `kubernetes: inventory synced from ${this.conn.server} in ${Math.round(performance.now() - started)} ms (lists ${Math.round(listed - started)} ms, ` +
        `first inventory ${Math.round(this.lastFlushMs)} ms): ${inv.services.length} services, ${this.workloads.size} pods, ${inv.authorizationPolicies.length} authorization policies`,
    );
  }

  close(): void {
    clearTimeout(this.timer);
    for (const i of this.informers) i.stop();
  }

  stats(): KubernetesSourceStats {
    const lists: Record<string, number> = {};
    const watches: Record<string, number> = {};
    const objects: Record<string, number> = {};
    for (const i of this.informers) {
      lists[i.path] = i.lists;
      watches[i.path] = i.watches;
      objects[i.path] = i.store.size;
    }
    return { lists, watches, flushes: this.flushes, lastFlushMs: this.lastFlushMs, objects };
  }

  // ---- handlers: note what is dirty, nothing else ---------------------------

  private mark<T>(set: Set<T>, value: T): void {
    set.add(value);
    if (this.live && !this.timer) this.timer = setTimeout(() => this.flushSafely(), this.debounceMs);
  }

  private namespaceChanged(ns: string): void {
    this.mark(this.dirtyNs, ns);
  }

  private serviceChanged(now: ServiceObj | undefined, prev: ServiceObj | undefined): void {
    const s = (now ?? prev)!;
    if (prev) this.unindexSelector(prev);
    if (now) {
      add(this.nsServices, s.namespace, s.name);
      this.indexSelector(now);
    } else {
      remove(this.nsServices, s.namespace, s.name);
    }
    this.mark(this.dirtyServices, `${s.name}.${s.namespace}`);
    // Who selects which pod may have changed, and a ServiceEntry host equal to its FQDN yields or resumes.
    if (JSON.stringify(now?.selector) !== JSON.stringify(prev?.selector) || !now || !prev) this.mark(this.dirtyCallerNs, s.namespace);
    for (const id of this.seIds.keys()) if (id === serviceEntryId(`${s.name}.${s.namespace}.svc.${this.domain}`, splitNs(id))) this.mark(this.dirtyServices, id);
  }

  private sliceChanged(now: EndpointSliceObj | undefined, prev: EndpointSliceObj | undefined): void {
    for (const [slice, sign] of [
      [prev, -1],
      [now, 1],
    ] as const) {
      if (!slice?.service) continue;
      const id = `${slice.service}.${slice.namespace}`;
      if (sign < 0) remove(this.slicesOf, id, key(slice));
      else add(this.slicesOf, id, key(slice));
      for (const ep of slice.endpoints) {
        for (const ip of ep.addresses) {
          const pod = ep.pod ?? this.podsByIp.get(ip);
          if (!pod) continue;
          if (sign < 0) remove(this.endpointOf, pod, id);
          else add(this.endpointOf, pod, id);
        }
      }
      this.mark(this.dirtyServices, id);
    }
  }

  private podChanged(now: PodObj | undefined, prev: PodObj | undefined): void {
    const p = (now ?? prev)!;
    const k = key(p);
    if (prev?.ip && this.podsByIp.get(prev.ip) === k) this.podsByIp.delete(prev.ip);
    if (now) {
      add(this.nsPods, p.namespace, k);
      if (now.ip) this.podsByIp.set(now.ip, k);
    } else {
      remove(this.nsPods, p.namespace, k);
    }
    this.mark(this.dirtyPods, k);
  }

  private serviceEntryChanged(now: ServiceEntryObj | undefined, prev: ServiceEntryObj | undefined): void {
    const k = key((now ?? prev)!);
    for (const e of [prev, now]) {
      if (!e) continue;
      for (const host of e.hosts) {
        if (host.includes('*')) continue;
        const id = serviceEntryId(host, e.namespace);
        if (e === now) add(this.seIds, id, k);
        else remove(this.seIds, id, k);
        this.mark(this.dirtyServices, id);
      }
    }
  }

  private indexSelector(s: ServiceObj): void {
    const first = firstTerm(s.selector);
    if (!first) return;
    let byTerm = this.selectorIndex.get(s.namespace);
    if (!byTerm) this.selectorIndex.set(s.namespace, (byTerm = new Map()));
    add(byTerm, first, s.name);
  }

  private unindexSelector(s: ServiceObj): void {
    const first = firstTerm(s.selector);
    const byTerm = first && this.selectorIndex.get(s.namespace);
    if (byTerm) remove(byTerm, first, s.name);
  }

  // ---- flush: rebuild what is dirty, publish one delta ---------------------

  private flushSafely(): void {
    this.timer = undefined;
    try {
      this.flush();
    } catch (err) {
      // A mapping bug must not stop the source: keep the last inventory, retry with everything dirty next time.
      this.log(`kubernetes: cannot apply the latest changes (kept the last inventory): ${(err as Error).stack ?? err}`);
    }
  }

  private flush(): void {
    const t0 = performance.now();
    for (const ns of this.dirtyNs) {
      const now = this.selection.includes(ns, this.namespaces.store.get(ns)?.labels ?? {});
      if (this.nsSelected.get(ns) === now && this.namespaces.store.has(ns)) continue;
      this.nsSelected.set(ns, now);
      // Selection changed: everything of the namespace is revisited.
      for (const name of this.nsServices.get(ns) ?? []) this.dirtyServices.add(`${name}.${ns}`);
      for (const id of this.seIds.keys()) if (splitNs(id) === ns) this.dirtyServices.add(id);
      this.dirtyCallerNs.add(ns);
      for (const p of this.policies.store.values()) if (p.namespace === ns) this.dirtyPolicies.add(key(p));
    }
    this.dirtyNs.clear();
    for (const ns of this.dirtyCallerNs) for (const k of this.nsPods.get(ns) ?? []) this.dirtyPods.add(k);
    this.dirtyCallerNs.clear();
    for (const k of this.dirtyPods) this.podDirty(k);
    this.dirtyPods.clear();

    const services: Service[] = [];
    const removeServices: ServiceId[] = [];
    for (const id of this.dirtyServices) {
      const s = this.build(id);
      if (s) services.push(s);
      else removeServices.push(id);
    }
    this.dirtyServices.clear();
    const authorizationPolicies: AuthorizationPolicy[] = [];
    const removeAuthorizationPolicies: string[] = [];
    for (const k of this.dirtyPolicies) {
      const p = this.policies.store.get(k);
      if (p && (p.namespace === this.root || this.selected(p.namespace))) authorizationPolicies.push(policyModel(p));
      else removeAuthorizationPolicies.push(k);
    }
    this.dirtyPolicies.clear();
    const delta: InventoryDelta = { services, removeServices, authorizationPolicies, removeAuthorizationPolicies };
    this.publish(delta);
    this.flushes++;
    this.lastFlushMs = performance.now() - t0;
  }

  private selected(ns: string): boolean {
    let s = this.nsSelected.get(ns);
    if (s === undefined) this.nsSelected.set(ns, (s = this.selection.includes(ns, this.namespaces.store.get(ns)?.labels ?? {})));
    return s;
  }

  /** Recomputes one pod's caller and workload; marks the services that list it. */
  private podDirty(k: PodKey): void {
    const pod = this.pods.store.get(k);
    const before = this.callerOf.get(k);
    const usable = pod && pod.ip && !pod.finished && this.selected(pod.namespace);
    const caller = usable ? this.callerFor(pod) : undefined;
    if (before) {
      remove(this.members, before, k);
      this.dirtyServices.add(before);
    }
    if (caller) {
      this.callerOf.set(k, caller);
      add(this.members, caller, k);
      this.dirtyServices.add(caller);
      this.workloads.set(k, workloadOf(pod!, caller));
    } else {
      this.callerOf.delete(k);
      this.workloads.delete(k);
    }
    for (const id of this.endpointOf.get(k) ?? []) this.dirtyServices.add(id);
    if (pod) for (const e of this.serviceEntries.store.values()) if (e.namespace === pod.namespace && e.workloadSelector) for (const h of e.hosts) this.dirtyServices.add(serviceEntryId(h, e.namespace));
  }

  private callerFor(pod: PodObj): ServiceId {
    const byTerm = this.selectorIndex.get(pod.namespace);
    const selecting: string[] = [];
    if (byTerm) {
      for (const [label, value] of Object.entries(pod.labels)) {
        for (const name of byTerm.get(`${label}=${value}`) ?? []) {
          if (selects(this.services.store.get(`${pod.namespace}/${name}`)?.selector, pod.labels)) selecting.push(name);
        }
      }
    }
    const name = chooseCaller(pod, selecting) ?? groupName(pod, (n) => this.nsServices.get(pod.namespace)?.has(n) ?? false);
    return `${name}.${pod.namespace}`;
  }

  private readonly lookup: PodLookup = {
    byKey: (k) => this.workloads.get(k),
    byIp: (ip) => {
      const k = this.podsByIp.get(ip);
      return k === undefined ? undefined : this.workloads.get(k);
    },
  };

  private memberWorkloads(id: ServiceId): Workload[] {
    const out: Workload[] = [];
    for (const k of this.members.get(id) ?? []) {
      const w = this.workloads.get(k);
      if (w) out.push(w);
    }
    return out;
  }

  /** The service of this id as the objects now say, or undefined when there is none. */
  private build(id: ServiceId): Service | undefined {
    const ns = splitNs(id);
    if (!this.selected(ns)) return undefined;
    const name = id.slice(0, -ns.length - 1);
    const svc = this.services.store.get(`${ns}/${name}`);
    if (svc) {
      const slices = [...(this.slicesOf.get(id) ?? [])].map((k) => this.slices.store.get(k)).filter((s): s is EndpointSliceObj => s !== undefined);
      return mapService(svc, slices, this.memberWorkloads(id), this.lookup, this.domain);
    }
    const entries = [...(this.seIds.get(id) ?? [])].sort();
    if (entries.length > 0) {
      // A host that is also a Service's FQDN in the mesh stays that Service's.
      const clash = name.endsWith(`.svc.${this.domain}`) && this.services.store.has(fqdnKey(name, this.domain));
      const se = this.serviceEntries.store.get(entries[0]);
      if (se && !clash) {
        const selected = se.workloadSelector ? [...(this.nsPods.get(ns) ?? [])].map((k) => this.pods.store.get(k)).filter((p): p is PodObj => !!p && selects(se.workloadSelector, p.labels)).map((p) => this.workloads.get(key(p))).filter((w): w is Workload => !!w) : [];
        return mapServiceEntryHost(se, se.hosts.find((h) => serviceEntryId(h, ns) === id)!, selected);
      }
    }
    const members = this.memberWorkloads(id);
    if (members.length > 0) return mapWorkloadGroup(name, ns, members, this.domain);
    return undefined;
  }
}

function splitNs(id: ServiceId): string {
  return id.slice(id.lastIndexOf('.') + 1);
}

/** `name.ns.svc.DOMAIN` → the Service's store key `ns/name`. */
function fqdnKey(fqdn: string, domain: string): string {
  const [name, ns] = fqdn.slice(0, -`.svc.${domain}`.length).split('.');
  return `${ns}/${name}`;
}

function firstTerm(selector: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!selector) return undefined;
  const k = Object.keys(selector).sort()[0];
  return k === undefined ? undefined : `${k}=${selector[k]}`;
}

function add<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(v);
}

function remove<K, V>(map: Map<K, Set<V>>, k: K, v: V): void {
  const set = map.get(k);
  if (set?.delete(v) && set.size === 0) map.delete(k);
}
