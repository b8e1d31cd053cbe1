// What every Envoy node with the same scope (and namespace) shares: the
// outbound clusters, their ClusterLoadAssignments and the outbound route
// configuration. Built once per scope key and inventory, reference-counted by
// the nodes using it.
import type { ServiceId } from '../../contracts/index.ts';
import { outboundRoute } from '../resources/routes.ts';
import { contentVersion } from '../set-version.ts';
import type { EncodedResource } from '../types.ts';
import type { ServicePool } from './service-pool.ts';

export class ScopeView {
  readonly clusters = new Map<string, EncodedResource>();
  readonly loads = new Map<string, EncodedResource>();
  readonly route: EncodedResource;
  /** Digests of the maps' name→version pairs: a node compares these, not the maps. */
  readonly clustersDigest: string;
  readonly loadsDigest: string;

  constructor(
    readonly key: string,
    /** `*`: the whole mesh (--no-lazy), whatever it holds. */
    readonly services: readonly ServiceId[] | '*',
    pool: ServicePool,
    namespace: string,
    gatewayFragment: Buffer,
  ) {
    const fragments: Buffer[] = [];
    const ids = services === '*' ? pool.inventory.services.map((s) => s.id) : services;
    for (const id of ids) {
      const entry = pool.get(id);
      if (!entry) continue;
      fragments.push(entry.fragment(namespace, pool.inventory));
      for (const p of entry.ports) {
        this.clusters.set(p.cluster.name, p.cluster);
        this.loads.set(p.load.name, p.load);
      }
    }
    this.route = outboundRoute(fragments, gatewayFragment);
    this.clustersDigest = contentVersion(this.clusters.values());
    this.loadsDigest = contentVersion(this.loads.values());
  }
}

export function scopeKey(namespace: string, services: readonly ServiceId[] | '*'): string {
  return `${namespace}|${services === '*' ? '*' : services.join(',')}`;
}

/** Live views by key. `reset()` after an inventory change: nodes then rebuild the views they need. */
export class ScopeViews {
  private readonly views = new Map<string, { view: ScopeView; refs: number }>();

  acquire(key: string, build: () => ScopeView): ScopeView {
    let slot = this.views.get(key);
    if (!slot) {
      slot = { view: build(), refs: 0 };
      this.views.set(key, slot);
    }
    slot.refs++;
    return slot.view;
  }

  /** Whether nodes holding `view` may keep it. */
  isLive(view: ScopeView): boolean {
    return this.views.get(view.key)?.view === view;
  }

  /** Drops the views that hold a changed service (and every whole-mesh view): their nodes rebuild them. */
  invalidate(changed: ReadonlySet<ServiceId>): void {
    if (changed.size === 0) return;
    for (const [key, slot] of this.views) {
      const services = slot.view.services;
      if (services === '*' || services.some((id) => changed.has(id))) this.views.delete(key);
    }
  }

  release(view: ScopeView | undefined): void {
    if (!view) return;
    const slot = this.views.get(view.key);
    if (!slot || slot.view !== view) return;
    if (--slot.refs === 0) this.views.delete(view.key);
  }

  get size(): number {
    return this.views.size;
  }
}
