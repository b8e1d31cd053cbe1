// scope(service) = its active edges ∪ pins ∪ rules, limited to services of the
// inventory and sorted. Every attached ScopeTarget (the xDS server, the Istio
// Sidecar writer…) hears only about services whose scope actually changed, at
// the moment it changes.
import type { Inventory, ScopeTarget, ServiceId } from '../../contracts/index.ts';
import type { Edge } from './edge.ts';
import type { DependencyGraph } from './graph.ts';
import type { Pin, Policy, ScopeRule } from './policy.ts';

/** Why one entry is in a scope: an active edge, a pin, or a rule that matched it. */
export type ScopeReason = { kind: 'edge'; edge: Edge } | { kind: 'pin'; pin: Pin } | { kind: 'rule'; rule: ScopeRule };

export class Scopes {
  private readonly current = new Map<ServiceId, readonly ServiceId[]>();
  private readonly sinks = new Set<ScopeTarget>();

  constructor(
    private inventory: Inventory,
    private readonly graph: DependencyGraph,
    private readonly policy: Policy,
    private readonly onChange: (service: ServiceId, deps: readonly ServiceId[]) => void = () => {},
  ) {}

  compute(service: ServiceId): ServiceId[] {
    const deps = new Set<ServiceId>();
    this.visit(service, (d) => deps.add(d));
    return [...deps].sort();
  }

  /**
   * Each entry of the scope with every reason it is there, sorted by entry. Walks
   * the same inputs as compute() (one place decides what a scope holds), so the
   * API can say why without re-matching rules itself.
   */
  explain(service: ServiceId): Map<ServiceId, ScopeReason[]> {
    const out = new Map<ServiceId, ScopeReason[]>();
    this.visit(service, (d, why) => {
      const list = out.get(d);
      if (list) list.push(why());
      else out.set(d, [why()]);
    });
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Calls `add` once per (entry, reason) of the scope; `why` builds the reason only when asked. */
  private visit(service: ServiceId, add: (dest: ServiceId, why: () => ScopeReason) => void): void {
    const inv = this.inventory;
    const svc = inv.service(service);
    if (!svc) return;
    const known = (d: ServiceId) => inv.service(d) !== undefined;
    for (const e of this.graph.from(service)) if (e.active && known(e.dest)) add(e.dest, () => ({ kind: 'edge', edge: e }));
    for (const p of this.policy.pinsOf(service)) if (known(p.dest)) add(p.dest, () => ({ kind: 'pin', pin: p }));
    this.policy.forEachRuleTarget(svc, inv, (d, rule) => add(d, () => ({ kind: 'rule', rule })));
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
      for (const sink of this.sinks) sink.setServiceScope(s, next);
      this.onChange(s, next);
    }
    return changed;
  }

  refreshAll(): ServiceId[] {
    return this.refresh(this.inventory.services.map((s) => s.id));
  }

  /**
   * Follows a new inventory version. When it was derived from the current one by
   * a delta, only the scopes that delta can touch are recomputed: the changed
   * services themselves and their callers (edges, pins, rules whose match changed).
   */
  setInventory(next: Inventory): ServiceId[] {
    const previous = this.inventory;
    const changed = next.changedSince(previous);
    this.inventory = next;
    if (!changed) {
      for (const s of [...this.current.keys()]) if (!next.service(s)) this.current.delete(s);
      return this.refreshAll();
    }
    const affected = new Set<ServiceId>(changed);
    for (const id of changed) {
      if (!next.service(id)) this.current.delete(id);
      for (const caller of this.graph.callersOf(id)) affected.add(caller);
    }
    for (const caller of this.policy.affectedBy(changed, previous, next)) affected.add(caller);
    return this.refresh([...affected].filter((s) => next.service(s)));
  }

  /**
   * Adds a sink: it is handed every current scope now, then told of each change.
   * Several sinks may be attached; the returned function detaches this one.
   */
  attach(sink: ScopeTarget): () => void {
    this.sinks.add(sink);
    for (const s of this.inventory.services) sink.setServiceScope(s.id, this.get(s.id));
    return () => {
      this.sinks.delete(sink);
    };
  }
}

function sameList(a: readonly ServiceId[], b: readonly ServiceId[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
