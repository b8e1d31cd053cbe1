// The grace before a Sidecar whose workload group is gone is deleted. A
// Recreate rollout empties a group for a moment: deleting its Sidecar then
// would leave the new pods with istiod's full config until it is written
// again, and churn the Sidecar. So the first time the writer finds one
// unneeded it only starts a timer; when that ends it asks for another prune
// (the writer's debounced flush, never a wait in a handler), and only then is
// the Sidecar deleted — if it is still unneeded. A group back in time cancels
// it, and finds its Sidecar as it was.

export const DEFAULT_PRUNE_GRACE_MS = 60_000;

interface Pending {
  since: number;
  due: number;
  /** The grace period is over: the next prune deletes it. */
  expired: boolean;
  timer?: NodeJS.Timeout;
}

export class PruneGrace {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly graceMs: number,
    /** Called when a grace period ends: time for another prune. */
    private readonly onExpired: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Whether the unneeded Sidecar `key` may be deleted now; the first time it is asked, its grace period starts. */
  over(key: string): boolean {
    if (this.graceMs <= 0) return true;
    const found = this.pending.get(key);
    if (found) return found.expired;
    const since = Date.now();
    const p: Pending = { since, due: since + this.graceMs, expired: false };
    p.timer = setTimeout(() => {
      p.expired = true;
      p.timer = undefined;
      this.onExpired();
    }, this.graceMs);
    this.pending.set(key, p);
    this.log(`istio sidecars: no workload group needs ${key}; deleting it at ${new Date(p.due).toISOString()} unless its workloads come back`);
    return false;
  }

  /** Nothing to wait for any more (deleted, or needed again); true if something was. */
  cancel(key: string): boolean {
    const p = this.pending.get(key);
    clearTimeout(p?.timer);
    return this.pending.delete(key);
  }

  /** Cancels every pending prune but these keys'. */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const k of [...this.pending.keys()]) if (!keys.has(k)) this.cancel(k);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Each pending prune: since when it is unneeded and when it is due (ISO times). */
  list(): Array<{ key: string; since: string; due: string }> {
    return [...this.pending].map(([key, p]) => ({ key, since: new Date(p.since).toISOString(), due: new Date(p.due).toISOString() }));
  }

  close(): void {
    for (const k of [...this.pending.keys()]) this.cancel(k);
  }
}
