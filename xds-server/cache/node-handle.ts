// One attached stream's view of the cache. Profiles fill in `config`; the
// handle tells the stream which types changed. Notifications are delivered in
// a microtask, coalesced, so a listener never runs inside the caller that
// caused the change (the protocol engine calling subscribed(), the analyzer
// calling setServiceScope) and a burst of changes becomes one push. Each
// notification says which cause changed which types, so the protocol can tell
// a scope push from an inventory one.
import type { ServiceId, Workload, WorkloadId } from '../../contracts/index.ts';
import { TypeUrl, type ChangeCause, type ConfigChange, type EncodedResource, type NodeHandle, type XdsNode } from '../types.ts';
import { contentVersion } from '../set-version.ts';
import type { ScopeView } from './scope-views.ts';

export interface TypeView {
  readonly map: ReadonlyMap<string, EncodedResource>;
  /** Equal digests mean equal name→version sets. */
  readonly digest: string;
}

export type NodeConfig = Readonly<Record<TypeUrl, TypeView>>;

const EMPTY: TypeView = typeView(new Map());
export const EMPTY_CONFIG: NodeConfig = {
  [TypeUrl.Listener]: EMPTY,
  [TypeUrl.Route]: EMPTY,
  [TypeUrl.Cluster]: EMPTY,
  [TypeUrl.Endpoint]: EMPTY,
};

export interface NodeOwner {
  subscribed(node: CacheNode, type: TypeUrl, names: ReadonlySet<string>): void;
  detach(node: CacheNode): void;
}

export class CacheNode implements NodeHandle {
  config: NodeConfig = EMPTY_CONFIG;
  workloadEntry?: Workload;
  /** The services of this node's scope that exist in the inventory. */
  scope: readonly ServiceId[] = [];
  view?: ScopeView;
  /** Listener names a proxyless client subscribed to. */
  listenerNames: ReadonlySet<string> = new Set();
  private readonly listeners = new Set<(types: ReadonlySet<TypeUrl>, changes: readonly ConfigChange[]) => void>();
  private pending = new Set<TypeUrl>();
  private causes = new Map<ChangeCause, { cause: ChangeCause; at: number; types: Set<TypeUrl> }>();
  private detached = false;

  constructor(
    readonly node: XdsNode,
    private readonly owner: NodeOwner,
  ) {}

  get workload(): WorkloadId | undefined {
    return this.workloadEntry?.id;
  }

  get service(): ServiceId | undefined {
    return this.workloadEntry?.service;
  }

  resources(type: TypeUrl): ReadonlyMap<string, EncodedResource> {
    return (this.config[type] ?? EMPTY).map;
  }

  onChange(listener: (types: ReadonlySet<TypeUrl>, changes: readonly ConfigChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribed(type: TypeUrl, names: ReadonlySet<string>): void {
    if (!this.detached) this.owner.subscribed(this, type, names);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.listeners.clear();
    this.owner.detach(this);
  }

  /** Installs a new configuration and schedules word of the types whose content changed, and why. */
  apply(next: NodeConfig, cause: ChangeCause): ReadonlySet<TypeUrl> {
    const changed = new Set<TypeUrl>();
    for (const type of Object.keys(next) as TypeUrl[]) {
      if (next[type].digest !== this.config[type].digest) changed.add(type);
    }
    this.config = next;
    if (changed.size > 0) this.schedule(changed, cause);
    return changed;
  }

  private schedule(types: ReadonlySet<TypeUrl>, cause: ChangeCause): void {
    const first = this.pending.size === 0;
    let byCause = this.causes.get(cause);
    if (!byCause) this.causes.set(cause, (byCause = { cause, at: performance.now(), types: new Set() }));
    for (const t of types) {
      this.pending.add(t);
      byCause.types.add(t);
    }
    if (!first) return;
    queueMicrotask(() => {
      const due = this.pending;
      const changes = [...this.causes.values()];
      this.pending = new Set();
      this.causes = new Map();
      if (this.detached) return;
      for (const l of [...this.listeners]) l(due, changes);
    });
  }
}

/** A type's view of a node's resources, with the digest that tells a change. */
export function typeView(map: ReadonlyMap<string, EncodedResource>): TypeView {
  return { map, digest: contentVersion(map.values()) };
}
