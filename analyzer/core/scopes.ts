// scope(service) = its active edges ∪ pins ∪ rules, limited to services of the
// inventory and sorted. The ScopeTarget hears only about services whose scope
// actually changed, at the moment it changes.
import type { Inventory, ScopeTarget, ServiceId } from '../../contracts/index.ts';
import type { DependencyGraph } from './graph.ts';
import type { Policy } from './policy.ts';

export class Scopes {
  private readonly current = new Map<ServiceId, readonly ServiceId[]>();
  private target?: ScopeTarget;

  constructor(
    private inventory: Inventory,
    private readonly graph: DependencyGraph,
    private readonly policy: Policy,
    private readonly onChange: (service: ServiceId, deps: readonly ServiceId[]) => void = () => {},
  ) {}

  compute(service: ServiceId): ServiceId[] {
    const inv = this.inventory;
    const svc = inv.service(service);
    if (!svc) return [];
    const deps = new Set<ServiceId>();
    for (const e of this.graph.from(service)) if (e.active) deps.add(e.dest);
    for (const d of this.policy.pinned(service)) deps.add(d);
    for (const d of this.policy.ruleTargets(svc, inv)) deps.add(d);
    return [...deps].filter((d) => inv.service(d) !== undefined).sort();
  }

  get(service: ServiceId): readonly ServiceId[] {
    return this.current.get(service) ?? [];
  }

  /** Every inventory service with its scope (empty ones included), in inventory order. */
  all(): Map<ServiceId, readonly ServiceId[]> {
    return new Map(this.inventory.services.map((s) => [s.id, this.get(s.id)]));
  }

  /** Recomputes these services; tells the target about the ones that changed, and returns them. */
  refresh(services: Iterable<ServiceId>): ServiceId[] {
    const changed: ServiceId[] = [];
    for (const s of services) {
      const next = this.compute(s);
      const prev = this.current.get(s);
      if (prev && sameList(prev, next)) continue;
      if (!this.inventory.service(s)) {
        this.current.delete(s);
        continue;
      }
      this.current.set(s, next);
      changed.push(s);
      this.target?.setServiceScope(s, next);
      this.onChange(s, next);
    }
    return changed;
  }

  refreshAll(): ServiceId[] {
    return this.refresh(this.inventory.services.map((s) => s.id));
  }

  setInventory(next: Inventory): ServiceId[] {
    this.inventory = next;
    for (const s of [...this.current.keys()]) if (!next.service(s)) this.current.delete(s);
    return this.refreshAll();
  }

  /** Hands every current scope to the target, then keeps it told of changes. */
  attach(target: ScopeTarget): void {
    this.target = target;
    for (const s of this.inventory.services) target.setServiceScope(s.id, this.get(s.id));
  }
}

function sameList(a: readonly ServiceId[], b: readonly ServiceId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
