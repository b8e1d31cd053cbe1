// The XdsCache: what each attached node should have, recomputed only for the
// nodes an event concerns (a scope change: that source's nodes; an inventory
// change: the nodes that use a changed service), and each of those hears only
// of the types whose content changed for it.
import type { AccessLogRecord, Inventory, ScopeTarget, ServiceId, WorkloadId } from '../../contracts/index.ts';
import { accessLogCluster } from '../resources/access-log.ts';
import { gatewayCluster } from '../resources/clusters.ts';
import type { HostPort } from '../resources/host-port.ts';
import { gatewayFragment } from '../resources/routes.ts';
import { TypeUrl, type EncodedResource, type XdsCache, type XdsNode } from '../types.ts';
import type { CacheContext } from './context.ts';
import { envoyConfig } from './envoy-profile.ts';
import { grpcConfig } from './grpc-profile.ts';
import { SharedMemo } from './memo.ts';
import { CacheNode, type NodeOwner } from './node-handle.ts';
import { addressOf, sourceOf } from './node-identity.ts';
import { ScopeStore, type ScopeChange } from './scopes.ts';
import { ScopeViews } from './scope-views.ts';
import { ServicePool } from './service-pool.ts';

export interface MeshCacheOptions {
  inventory: Inventory;
  /** The lazy gateway; without it the catch-all route answers 503. */
  gateway?: HostPort;
  /** false = `--no-lazy`: every Envoy gets the whole mesh (the baseline). Default true. */
  lazy?: boolean;
  /** The analyzer's gRPC Access Log Service: Envoy sidecars' egress listeners stream their log to it. */
  accessLogService?: HostPort;
  /**
   * A cache of the same inventory, gateway and access log service whose encoded
   * services and per-node resources this one reuses instead of encoding them
   * again (ProxyBytesMeter's scoped and full caches). Neither may change inventory.
   */
  shareWith?: MeshCache;
  /**
   * The encoded services of a cache of an earlier inventory (same gateway and
   * access log service): services whose resources did not change are taken
   * over instead of encoded again. When this inventory was derived from its
   * (Inventory.apply), only the services the delta names are revisited and the
   * earlier cache's encodings are handed over: it is spent.
   */
  carryOver?: MeshCache;
}

export type ObservationListener = (record: AccessLogRecord) => void;

export class MeshCache implements XdsCache, NodeOwner, CacheContext {
  inventory: Inventory;
  pool: ServicePool;
  readonly lazy: boolean;
  readonly scopes: ScopeStore;
  readonly views = new ScopeViews();
  readonly memo: SharedMemo<EncodedResource>;
  readonly gatewayCluster?: EncodedResource;
  readonly gatewayFragment: Buffer;
  readonly accessLogCluster?: EncodedResource;
  private readonly nodes = new Set<CacheNode>();
  private readonly byWorkload = new Map<WorkloadId, Set<CacheNode>>();
  private readonly byService = new Map<ServiceId, Set<CacheNode>>();
  private readonly observers = new Set<ObservationListener>();

  constructor(opts: MeshCacheOptions) {
    this.inventory = opts.inventory;
    const earlier = opts.carryOver;
    this.pool = opts.shareWith?.pool ?? new ServicePool(opts.inventory, earlier?.pool, earlier && opts.inventory.changedSince(earlier.inventory));
    this.memo = opts.shareWith?.memo ?? new SharedMemo<EncodedResource>();
    this.lazy = opts.lazy ?? true;
    this.scopes = new ScopeStore((change) => this.scopeChanged(change));
    this.gatewayCluster = opts.gateway && gatewayCluster(opts.gateway);
    this.gatewayFragment = gatewayFragment(opts.gateway !== undefined);
    this.accessLogCluster = opts.accessLogService && accessLogCluster(opts.accessLogService);
  }

  /** The scope API (contracts/scope.ts) the analyzer drives. */
  get scope(): ScopeTarget {
    return this.scopes;
  }

  attach(node: XdsNode): CacheNode {
    const handle = new CacheNode(node, this);
    this.nodes.add(handle);
    // The first configuration is the stream's starting point, not a change.
    handle.config = this.compute(handle);
    return handle;
  }

  /**
   * Applies a new inventory version. Only nodes the change concerns are
   * recomputed: those whose workload resolves differently, whose own service,
   * scope or shared view holds a changed service, and proxyless clients whose
   * names may now resolve differently. Each hears only of the types whose
   * content changed for it.
   */
  setInventory(next: Inventory): void {
    if (next.version === this.inventory.version) return;
    const delta = next.changedSince(this.inventory);
    this.inventory = next;
    this.pool = new ServicePool(next, this.pool, delta);
    const changed = this.pool.changed;
    this.views.invalidate(changed);
    for (const node of this.nodes) {
      if (this.concerns(node, changed)) node.apply(this.compute(node), 'inventory');
    }
  }

  /** Every proxyless subscription, as an access-log record the analyzer consumes. */
  onObservation(listener: ObservationListener): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /** Live shared scope views (one per distinct scope and namespace). */
  get viewCount(): number {
    return this.views.size;
  }

  subscribed(node: CacheNode, type: TypeUrl, names: ReadonlySet<string>): void {
    if (node.node.profile !== 'grpc' || type !== TypeUrl.Listener) return;
    const added = [...names].filter((n) => !node.listenerNames.has(n));
    const removed = [...node.listenerNames].some((n) => !names.has(n));
    if (added.length === 0 && !removed) return;
    node.listenerNames = new Set(names);
    node.apply(this.compute(node), 'subscription');
    this.observe(node, added);
  }

  detach(node: CacheNode): void {
    this.nodes.delete(node);
    this.index(node, undefined);
    this.views.release(node.view);
    node.view = undefined;
  }

  private concerns(node: CacheNode, changed: ReadonlySet<ServiceId>): boolean {
    const before = node.workloadEntry;
    const now = this.inventory.workloadForNode(node.node);
    if (now?.id !== before?.id || now?.service !== before?.service) return true;
    if (changed.size === 0) return false;
    if (before && changed.has(before.service)) return true;
    if (node.node.profile === 'grpc') return node.listenerNames.size > 0;
    if (node.view && !this.views.isLive(node.view)) return true;
    return this.scopes.declared(before).some((id) => changed.has(id));
  }

  private compute(node: CacheNode) {
    const workload = this.inventory.workloadForNode(node.node);
    if (workload?.id !== node.workloadEntry?.id || workload?.service !== node.workloadEntry?.service) this.index(node, workload);
    node.workloadEntry = workload;
    return node.node.profile === 'grpc' ? grpcConfig(this, node) : envoyConfig(this, node);
  }

  private scopeChanged(change: ScopeChange): void {
    const nodes = (change.kind === 'service' ? this.byService : this.byWorkload).get(change.id);
    if (!nodes) return;
    for (const node of nodes) if (node.node.profile === 'envoy') node.apply(this.compute(node), 'scope');
  }

  private index(node: CacheNode, workload: { id: WorkloadId; service: ServiceId } | undefined): void {
    const before = node.workloadEntry;
    if (before) {
      remove(this.byWorkload, before.id, node);
      remove(this.byService, before.service, node);
    }
    if (workload && this.nodes.has(node)) {
      add(this.byWorkload, workload.id, node);
      add(this.byService, workload.service, node);
    }
  }

  private observe(node: CacheNode, names: readonly string[]): void {
    if (names.length === 0 || this.observers.size === 0) return;
    const time = new Date().toISOString();
    const source = sourceOf(node.node, node.workloadEntry);
    const sourceAddress = node.workloadEntry ? undefined : addressOf(node.node);
    for (const authority of names) {
      const record: AccessLogRecord = { time, source, authority, protocol: 'grpc', reporter: 'xds' };
      if (sourceAddress) record.sourceAddress = sourceAddress;
      for (const l of this.observers) {
        // A failing consumer must not fail the proxy's subscription.
        try {
          l(record);
        } catch (err) {
          process.stderr.write(`xds: observation listener failed: ${(err as Error).stack ?? err}\n`);
        }
      }
    }
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set?.delete(value) && set.size === 0) map.delete(key);
}
