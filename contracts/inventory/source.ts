// Where an inventory comes from: mesh.yaml (watch.ts) or the Kubernetes API
// (kubernetes/). Consumers hold a source, read `current` on their hot path and
// hear each new version once, with the one it replaces; a version derived from
// the previous one by a delta tells what it changed (Inventory.changedSince),
// so consumers revisit only that.
import { EventEmitter } from 'node:events';
import { Inventory, type InventoryDelta } from './inventory.ts';

export interface InventoryEvents {
  change: [next: Inventory, previous: Inventory];
  /** Input the source could not use; it keeps its last good inventory. */
  invalid: [error: Error];
}

export interface InventorySource {
  /** The latest version; never undefined once the source is constructed or started. */
  readonly current: Inventory;
  /** Where the inventory comes from, for logs: a mesh.yaml path or `kubernetes <server>`. */
  readonly origin: string;
  on(event: 'change', listener: (next: Inventory, previous: Inventory) => void): unknown;
  off(event: 'change', listener: (next: Inventory, previous: Inventory) => void): unknown;
  /** Stops following the origin; `current` stays readable. */
  close(): void | Promise<void>;
}

/** Holds the current version and announces each new one; the sources build on it. */
export class InventoryPublisher extends EventEmitter<InventoryEvents> {
  constructor(protected inventory: Inventory) {
    super();
  }

  get current(): Inventory {
    return this.inventory;
  }

  /** Applies `delta`, or takes `next` whole; emits `change` unless the version is the same. Returns whether it changed. */
  protected publish(change: InventoryDelta | Inventory): boolean {
    const previous = this.inventory;
    const next = change instanceof Inventory ? change : previous.apply(change);
    if (next === previous || next.version === previous.version) return false;
    this.inventory = next;
    this.emit('change', next, previous);
    return true;
  }
}

/** A source that never changes (tests, replay, a plain Inventory handed to a consumer). */
export class FixedInventorySource extends InventoryPublisher implements InventorySource {
  readonly origin = 'fixed inventory';

  /** Replaces the inventory by hand (what setInventory() on a consumer did). */
  set(next: Inventory): boolean {
    return this.publish(next);
  }

  close(): void {}
}

/** Consumers accept either; a plain Inventory becomes a fixed source. */
export function inventorySource(from: InventorySource | Inventory): InventorySource {
  return from instanceof Inventory ? new FixedInventorySource(from) : from;
}
