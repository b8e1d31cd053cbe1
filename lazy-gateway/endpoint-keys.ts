// Every `address:targetPort` the inventory routes to: what the upstream pools,
// sessions and outlier records may keep. Followed by inventory delta, so a
// pod change costs its service, not every endpoint of the mesh.
import type { Inventory, Service } from '../contracts/inventory/index.ts';

export class EndpointKeys {
  /** How many service ports list each key (a pod behind two Services is listed twice). */
  private readonly counts = new Map<string, number>();
  readonly keys = new Set<string>();

  constructor(inventory: Inventory) {
    for (const s of inventory.services) this.count(s, 1);
  }

  /** Moves to `next`; returns the live key set (kept up to date, not a copy). */
  follow(next: Inventory, previous: Inventory): ReadonlySet<string> {
    const changed = next.changedSince(previous);
    if (!changed) {
      this.counts.clear();
      this.keys.clear();
      for (const s of next.services) this.count(s, 1);
      return this.keys;
    }
    for (const id of changed) {
      const before = previous.service(id);
      const after = next.service(id);
      if (before) this.count(before, -1);
      if (after) this.count(after, 1);
    }
    return this.keys;
  }

  private count(s: Service, by: 1 | -1): void {
    for (const w of s.workloads) {
      for (const p of s.ports) {
        const key = `${w.address}:${p.targetPort}`;
        const n = (this.counts.get(key) ?? 0) + by;
        if (n > 0) {
          this.counts.set(key, n);
          this.keys.add(key);
        } else {
          this.counts.delete(key);
          this.keys.delete(key);
        }
      }
    }
  }
}
