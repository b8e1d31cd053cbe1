// Every Sidecar this install prunes, from the moment no group needs it to
// what became of it: the one record the writer decides with and status()
// reports. A Recreate rollout empties a group for a moment: deleting its
// Sidecar then would leave the new pods with istiod's full config until it is
// written again, and churn the Sidecar. So the first time the writer finds one
// unneeded it only starts a grace period; when that ends it asks for another
// prune (the writer's debounced flush, never a wait in a handler), and only
// then is the Sidecar deleted — if it is still unneeded. A group back in time
// cancels it, and finds its Sidecar as it was.

export const DEFAULT_PRUNE_GRACE_MS = 60_000;

/** Which Sidecar. */
export interface SidecarRef {
  namespace: string;
  name: string;
}

export interface PruneStatus {
  namespace: string;
  name: string;
  /** pending: unneeded, deleted at `due` unless its group comes back first. */
  state: 'pending' | 'deleted' | 'would-delete' | 'failed';
  reason?: string;
  /** When it happened (pending: when it was found unneeded). */
  at: string;
  due?: string;
}

type Outcome = Omit<PruneStatus, 'namespace' | 'name' | 'due'> & { state: 'deleted' | 'would-delete' | 'failed' };

interface Entry {
  readonly key: string;
  readonly ref: SidecarRef;
  /** Its grace period: running, or over while the Sidecar is still there (dry run, a failed delete). */
  grace?: { since: number; due: number; expired: boolean; timer?: NodeJS.Timeout; order: number };
  /** What was last done about it (in dry run: would be); `order`: when the first outcome came. */
  outcome?: Outcome & { order: number };
}

const keyOf = (ref: SidecarRef) => `${ref.namespace}/${ref.name}`;

export class Prunes {
  private readonly entries = new Map<string, Entry>();
  /** Orders list() as status has always listed them: graces by when they started, outcomes by when the first came. */
  private next = 0;

  constructor(
    private readonly graceMs: number,
    /** Called when a grace period ends: time for another prune. */
    private readonly onExpired: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  /** Whether the unneeded Sidecar may be deleted now; the first time it is asked, its grace period starts. */
  over(ref: SidecarRef): boolean {
    if (this.graceMs <= 0) return true;
    const entry = this.entryOf(ref);
    if (entry.grace) return entry.grace.expired;
    const since = Date.now();
    const grace: NonNullable<Entry['grace']> = { since, due: since + this.graceMs, expired: false, order: this.next++ };
    grace.timer = setTimeout(() => {
      grace.expired = true;
      grace.timer = undefined;
      this.onExpired();
    }, this.graceMs);
    entry.grace = grace;
    this.log(`istio sidecars: no workload group needs ${entry.key}; deleting it at ${new Date(grace.due).toISOString()} unless its workloads come back`);
    return false;
  }

  /** What the writer did about it; the previous outcome's state. Deleted, there is no grace left to wait out. */
  record(ref: SidecarRef, state: Outcome['state'], reason?: string): Outcome['state'] | undefined {
    const entry = this.entryOf(ref);
    const before = entry.outcome?.state;
    entry.outcome = { state, ...(reason === undefined ? {} : { reason }), at: new Date().toISOString(), order: entry.outcome?.order ?? this.next++ };
    if (state === 'deleted') this.endGrace(entry);
    return before;
  }

  /** Its group is wanted again: nothing said about deleting it holds any more. */
  wanted(ref: SidecarRef): void {
    const key = keyOf(ref);
    const entry = this.entries.get(key);
    if (!entry) return;
    clearTimeout(entry.grace?.timer);
    this.entries.delete(key);
    if (entry.grace) this.log(`istio sidecars: ${key} is needed again within the grace period; kept`);
  }

  /** The Sidecars a prune found unneeded: every other one is needed again or gone, and waits for nothing. */
  keepOnly(unneeded: Iterable<SidecarRef>): void {
    const keep = new Set([...unneeded].map(keyOf));
    for (const entry of [...this.entries.values()]) if (entry.grace && !keep.has(entry.key)) this.endGrace(entry);
  }

  /** Sidecars in (or past) their grace period and still there. */
  get pending(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.grace) n++;
    return n;
  }

  /** Those in their grace period first, by when it started (what was done about one, if anything, says more), then the others. */
  list(): PruneStatus[] {
    const all = [...this.entries.values()];
    const graced = all.filter((e) => e.grace).sort((x, y) => x.grace!.order - y.grace!.order);
    const done = all.filter((e) => !e.grace).sort((x, y) => x.outcome!.order - y.outcome!.order);
    return [...graced, ...done].map(({ ref, grace, outcome }): PruneStatus => {
      if (!outcome) return { ...ref, state: 'pending', reason: 'no workload group needs it; deleted at `due` unless its workloads come back', at: new Date(grace!.since).toISOString(), due: new Date(grace!.due).toISOString() };
      const { order: _, ...status } = outcome;
      return { ...ref, ...status };
    });
  }

  /** Stops every grace period (its timer would keep the process up); outcomes stay to be reported. */
  close(): void {
    for (const entry of [...this.entries.values()]) if (entry.grace) this.endGrace(entry);
  }

  private entryOf(ref: SidecarRef): Entry {
    const key = keyOf(ref);
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { key, ref: { namespace: ref.namespace, name: ref.name } }));
    return entry;
  }

  private endGrace(entry: Entry): void {
    clearTimeout(entry.grace?.timer);
    entry.grace = undefined;
    if (!entry.outcome) this.entries.delete(entry.key);
  }
}
