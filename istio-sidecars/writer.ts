// The Sidecar writer: a scope sink (ScopeTarget) that turns each workload
// group's scope into a `networking.istio.io/v1` Sidecar and keeps the cluster
// at that. Scope and inventory changes only mark groups dirty; a debounced
// flush writes each dirty group once, rate-limited, and only when what is
// there differs from what is wanted (so a restart rewrites nothing). Sidecars
// this install made and no longer needs are deleted once they have been
// unneeded for a grace period (a Recreate rollout empties a group for a
// moment; its Sidecar stays); anything someone else owns — another meshscope
// install included — is left alone and its group reported as skipped.
import { EventEmitter } from 'node:events';
import { splitId, type Inventory, type InventorySource, type ScopeTarget, type Service, type ServiceId, type WorkloadId } from '../contracts/index.ts';
import { findGroups, type GroupSkip, type WorkloadGroup } from './groups.ts';
import type { Instance } from './instance.ts';
import { coManagers, foreignClaim, isOwn, type KubeSidecar } from './ownership.ts';
import { DEFAULT_PRUNE_GRACE_MS, Prunes, type PruneStatus, type SidecarRef } from './prunes.ts';
import { SidecarWriteError, type SidecarApi } from './sidecar-api.ts';
import { buildSidecar, type GatewayService, type SidecarObject } from './sidecar-spec.ts';
import type { SidecarView } from './sidecar-store.ts';
import { Debounce, eachLimited, TokenBucket } from './throttle.ts';

export interface SidecarWriterOptions {
  inventory: InventorySource;
  sidecars: SidecarView;
  /** Never called with dryRun. */
  api: SidecarApi;
  /** `ns/host` entries every Sidecar keeps. */
  alwaysVisible: readonly string[];
  /** The lazy gateway's Service; unknown destinations are sent to it (egressProxy). */
  gateway?: GatewayService;
  /** Show what would be written and deleted; write nothing. */
  dryRun?: boolean;
  /** Namespaces whose pods get no Sidecar from meshscope. */
  ignoreNamespaces?: readonly string[];
  /** This install (`--instance`): its objects' labels and field manager. */
  instance: Instance;
  /** A Sidecar no group needs is deleted only after it has stayed unneeded this long (default 60 s; 0: at once). */
  pruneGraceMs?: number;
  /** Changes are gathered until quiet this long (default 100 ms)… */
  quietMs?: number;
  /** …or this long after the first (default 1 s). */
  maxDelayMs?: number;
  /** Writes per second (default 20) and burst (default 40). */
  qps?: number;
  burst?: number;
  /** Writes in flight at once (default 4). */
  concurrency?: number;
  log?: (msg: string) => void;
}

export type SidecarState = 'pending' | 'current' | 'written' | 'would-write' | 'skipped' | 'failed';

export interface GroupStatus {
  namespace: string;
  /** The Sidecar's name (absent when no group could be formed). */
  name?: string;
  owners: string[];
  workloads: WorkloadId[];
  state: SidecarState;
  reason?: string;
  hosts?: string[];
  writes: number;
  lastWriteAt?: string;
  /** What meshscope wants there (also in dry run). */
  sidecar?: SidecarObject;
}

export interface SidecarWriterEvents {
  applied: [sidecar: SidecarObject, at: number];
  deleted: [namespace: string, name: string];
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;
const RETRY_MS = [1000, 2000, 5000, 10_000, 30_000];

export class SidecarWriter extends EventEmitter<SidecarWriterEvents> implements ScopeTarget {
  private readonly serviceScopes = new Map<ServiceId, readonly ServiceId[]>();
  private readonly workloadScopes = new Map<WorkloadId, readonly ServiceId[]>();
  private groups = new Map<string, WorkloadGroup>();
  private skippedGroups: GroupSkip[] = [];
  private readonly byService = new Map<ServiceId, Set<string>>();
  private readonly byWorkload = new Map<WorkloadId, string>();
  private readonly state = new Map<string, Omit<GroupStatus, 'namespace' | 'name' | 'owners' | 'workloads'>>();
  private readonly prunes: Prunes;
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, { count: number; timer: NodeJS.Timeout }>();
  private pruneDue = false;
  private started = false;
  private closed = false;
  private flushing?: Promise<void>;
  private readonly debounce: Debounce;
  private readonly bucket: TokenBucket;
  private readonly log: (msg: string) => void;
  private readonly idleWaiters: Array<() => void> = [];
  readonly counters = { applies: 0, deletes: 0, failures: 0 };

  constructor(private readonly opts: SidecarWriterOptions) {
    super();
    this.log = opts.log ?? (() => {});
    this.debounce = new Debounce(opts.quietMs ?? 100, opts.maxDelayMs ?? 1000, () => void this.flush());
    this.bucket = new TokenBucket(opts.qps ?? 20, opts.burst ?? 40);
    this.prunes = new Prunes(opts.pruneGraceMs ?? DEFAULT_PRUNE_GRACE_MS, () => {
      this.pruneDue = true;
      this.poke();
    }, this.log);
  }

  get dryRun(): boolean {
    return this.opts.dryRun ?? false;
  }

  get instance(): Instance {
    return this.opts.instance;
  }

  /** Groups the inventory, then reconciles every group and prunes; call once the Sidecar view has synced. */
  start(): this {
    this.started = true;
    this.opts.inventory.on('change', this.onInventory);
    this.opts.sidecars.on('change', this.onSidecars);
    this.regroup(this.opts.inventory.current);
    return this;
  }

  setServiceScope(service: ServiceId, deps: Iterable<ServiceId>): void {
    this.serviceScopes.set(service, [...deps]);
    for (const k of this.byService.get(service) ?? []) this.mark(k);
  }

  setWorkloadScope(workload: WorkloadId, deps: Iterable<ServiceId> | undefined): void {
    if (deps === undefined) this.workloadScopes.delete(workload);
    else this.workloadScopes.set(workload, [...deps]);
    const k = this.byWorkload.get(workload);
    if (k) this.mark(k);
  }

  private readonly onInventory = (next: Inventory, previous: Inventory) => {
    // A delta names the services it changed: only their namespaces are grouped again.
    const changed = next.changedSince(previous);
    this.regroup(next, changed && new Set([...changed].map((id) => splitId(id).namespace)));
  };

  private readonly onSidecars = (namespace: string) => {
    // Someone created, changed or deleted a Sidecar here: every group of the namespace is checked again.
    for (const [k, g] of this.groups) if (g.namespace === namespace) this.mark(k);
    this.pruneDue = true;
    this.poke();
  };

  /** Groups the inventory again: the given namespaces, or all. */
  private regroup(inv: Inventory, namespaces?: ReadonlySet<string>): void {
    const { groups, skipped } = findGroups(inv, { ignoreNamespaces: new Set(this.opts.ignoreNamespaces ?? []), namespaces });
    const kept = namespaces ? [...this.groups].filter(([, g]) => !namespaces.has(g.namespace)) : [];
    const fresh = groups.map((g): [string, WorkloadGroup] => [keyOf(g.namespace, g.name), g]);
    this.groups = new Map([...kept, ...fresh]);
    this.skippedGroups = [...(namespaces ? this.skippedGroups.filter((x) => !namespaces.has(x.namespace)) : []), ...skipped];
    this.byService.clear();
    this.byWorkload.clear();
    for (const [k, g] of this.groups) {
      for (const s of g.services) {
        const set = this.byService.get(s) ?? new Set<string>();
        set.add(k);
        this.byService.set(s, set);
      }
      for (const w of g.workloads) this.byWorkload.set(w, k);
    }
    for (const k of [...this.state.keys()]) if (!this.groups.has(k)) this.state.delete(k);
    for (const [k] of fresh) this.mark(k);
    this.pruneDue = true;
    this.poke();
  }

  private mark(k: string): void {
    this.dirty.add(k);
    this.poke();
  }

  private poke(): void {
    if (this.started && !this.closed) this.debounce.poke();
  }

  /** The services a group's Sidecar lets it see: every pod's scope, joined. */
  private scopeOf(g: WorkloadGroup, inv: Inventory): Service[] {
    const ids = new Set<ServiceId>();
    for (const w of g.workloads) {
      const deps = this.workloadScopes.get(w) ?? this.serviceScopes.get(inv.workload(w)?.service ?? '') ?? [];
      for (const d of deps) ids.add(d);
    }
    // A WorkloadGroup "service" is only a caller identity: there is no host to see.
    return [...ids].map((id) => inv.service(id)).filter((s): s is Service => s !== undefined && s.kind !== 'WorkloadGroup');
  }

  private desired(g: WorkloadGroup, inv: Inventory): SidecarObject {
    return buildSidecar(g, this.scopeOf(g, inv), { alwaysVisible: this.opts.alwaysVisible, gateway: this.opts.gateway, clusterDomain: inv.clusterDomain, instance: this.instance });
  }

  private flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.dirty.size > 0 || this.pruneDue) this.poke();
      else if (!this.debounce.pending) for (const w of this.idleWaiters.splice(0)) w();
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    while (!this.closed && (this.dirty.size > 0 || this.pruneDue)) {
      const keys = [...this.dirty];
      this.dirty.clear();
      await eachLimited(keys, this.opts.concurrency ?? 4, async (k) => {
        if (!this.closed) await this.reconcile(k);
      });
      if (this.closed) return;
      if (this.pruneDue && !this.closed) {
        this.pruneDue = false;
        await this.prune();
      }
    }
  }

  private async reconcile(k: string): Promise<void> {
    const g = this.groups.get(k);
    if (!g) return;
    const inv = this.opts.inventory.current;
    const desired = this.desired(g, inv);
    const prev = this.state.get(k);
    const base = { hosts: desired.spec.egress[0].hosts, sidecar: desired, writes: prev?.writes ?? 0, lastWriteAt: prev?.lastWriteAt };
    const labels = g.workloads.map((w) => inv.workload(w)?.labels ?? {});
    const claim = foreignClaim(g, this.opts.sidecars.inNamespace(g.namespace), labels, this.instance);
    const existing = this.opts.sidecars.get(g.namespace, g.name);
    if (claim) {
      if (prev?.reason !== claim) this.log(`istio sidecars: skipping ${g.owners.join(', ')} in ${g.namespace}: ${claim}`);
      this.state.set(k, { ...base, state: 'skipped', reason: claim });
      // meshscope's own Sidecar for the group steps back: two selecting one pod is undefined in Istio.
      if (existing && isOwn(existing, this.instance)) await this.remove(existing);
      return;
    }
    // Wanted again: what was said about deleting it no longer holds.
    this.prunes.wanted(g);
    if (existing && sameSidecar(existing, desired)) {
      this.state.set(k, { ...base, state: prev?.state === 'written' ? 'written' : 'current' });
      this.clearFailure(k);
      return;
    }
    const editors = existing ? coManagers(existing, this.instance) : [];
    if (editors.length > 0) {
      const reason = `${editors.join(', ')} changed fields meshscope applies on Sidecar ${g.namespace}/${g.name}; meshscope does not force them back (delete the Sidecar, or remove those fields, to hand it back)`;
      if (prev?.reason !== reason) this.log(`istio sidecars: skipping ${g.namespace}/${g.name}: ${reason}`);
      this.state.set(k, { ...base, state: 'skipped', reason });
      return;
    }
    if (this.dryRun) {
      if (prev?.state !== 'would-write' || JSON.stringify(prev.sidecar) !== JSON.stringify(desired)) {
        this.log(`istio sidecars (dry run): would apply ${JSON.stringify(desired)}`);
      }
      this.state.set(k, { ...base, state: 'would-write' });
      return;
    }
    await this.bucket.take();
    if (this.closed) return;
    try {
      const written = await this.opts.api.apply(desired);
      this.opts.sidecars.noteApplied(written);
      this.counters.applies++;
      const at = Date.now();
      this.state.set(k, { ...base, state: 'written', writes: base.writes + 1, lastWriteAt: new Date(at).toISOString() });
      this.clearFailure(k);
      this.emit('applied', desired, at);
    } catch (err) {
      this.counters.failures++;
      if (err instanceof SidecarWriteError && err.status === 409) {
        // Someone else manages a field of it: theirs now, until they give it up (a Sidecar change retries).
        this.state.set(k, { ...base, state: 'skipped', reason: `another field manager holds part of it: ${err.message}` });
        this.log(`istio sidecars: skipping ${g.namespace}/${g.name}: ${err.message}`);
        return;
      }
      this.state.set(k, { ...base, state: 'failed', reason: (err as Error).message });
      this.retryLater(k, (err as Error).message);
    }
  }

  private async prune(): Promise<void> {
    const unneeded: SidecarRef[] = [];
    for (const s of this.opts.sidecars.all()) {
      if (this.closed) return;
      if (!isOwn(s, this.instance) || this.groups.has(keyOf(s.metadata.namespace, s.metadata.name))) continue;
      unneeded.push(s.metadata);
      if (this.prunes.over(s.metadata)) await this.remove(s);
    }
    this.prunes.keepOnly(unneeded);
  }

  private async remove(s: KubeSidecar): Promise<void> {
    const { namespace, name } = s.metadata;
    const k = keyOf(namespace, name);
    if (this.dryRun) {
      if (this.prunes.record(s.metadata, 'would-delete') !== 'would-delete') this.log(`istio sidecars (dry run): would delete ${k}`);
      return;
    }
    await this.bucket.take();
    if (this.closed) return;
    try {
      await this.opts.api.delete(s);
      this.opts.sidecars.noteDeleted(s);
      this.counters.deletes++;
      this.prunes.record(s.metadata, 'deleted');
      this.log(`istio sidecars: deleted ${k} (no workload group needs it)`);
      this.emit('deleted', namespace, name);
    } catch (err) {
      this.counters.failures++;
      this.prunes.record(s.metadata, 'failed', (err as Error).message);
      this.log(`istio sidecars: ${(err as Error).message}`);
      // A precondition failure means it changed since it was read: the next look decides again.
      this.pruneDue = true;
    }
  }

  private retryLater(k: string, why: string): void {
    const f = this.failures.get(k);
    const count = (f?.count ?? 0) + 1;
    clearTimeout(f?.timer);
    const wait = RETRY_MS[Math.min(count - 1, RETRY_MS.length - 1)];
    this.log(`istio sidecars: ${why}; retrying in ${wait} ms`);
    this.failures.set(k, { count, timer: setTimeout(() => this.mark(k), wait) });
  }

  private clearFailure(k: string): void {
    clearTimeout(this.failures.get(k)?.timer);
    this.failures.delete(k);
  }

  /** Every group with what meshscope wants and did, then groups it could not form; Sidecars deleted or due to be. */
  status(): { groups: GroupStatus[]; pruned: PruneStatus[] } {
    const groups: GroupStatus[] = [];
    const inv = this.opts.inventory.current;
    for (const [k, g] of this.groups) {
      const s = this.state.get(k) ?? { state: 'pending' as const, writes: 0 };
      // Marked, but wanting what was last decided: nothing is pending for it.
      const pending = this.dirty.has(k) && stable(this.desired(g, inv)) !== stable(s.sidecar);
      groups.push({ namespace: g.namespace, name: g.name, owners: [...g.owners], workloads: [...g.workloads], ...s, state: pending ? 'pending' : s.state });
    }
    for (const s of this.skippedGroups) groups.push({ namespace: s.namespace, owners: s.owners, workloads: s.workloads, state: 'skipped', reason: s.reason, writes: 0 });
    return { groups, pruned: this.prunes.list() };
  }

  /** Sidecars waiting out their grace period before deletion. */
  get prunesPending(): number {
    return this.prunes.pending;
  }

  /** Resolves when nothing is waiting to be written (tests, bench); a prune still in its grace period is not waited for. */
  idle(): Promise<void> {
    if (!this.debounce.pending && !this.flushing && this.dirty.size === 0 && !this.pruneDue) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.closed = true;
    this.debounce.cancel();
    for (const f of this.failures.values()) clearTimeout(f.timer);
    this.prunes.close();
    this.opts.inventory.off('change', this.onInventory);
    this.opts.sidecars.off('change', this.onSidecars);
    for (const w of this.idleWaiters.splice(0)) w();
    return this.flushing ?? Promise.resolve();
  }
}

/**
 * The fields meshscope applies, compared in a key-order-independent way;
 * others' fields are theirs. Its labels count: a Sidecar an earlier version
 * wrote has no instance label and is written once more to get it.
 */
export function sameSidecar(existing: KubeSidecar, desired: SidecarObject): boolean {
  if (Object.entries(desired.metadata.labels).some(([k, v]) => existing.metadata.labels?.[k] !== v)) return false;
  const have = existing.spec ?? {};
  const want = desired.spec;
  return (
    stable(have.workloadSelector) === stable(want.workloadSelector) &&
    stable(have.egress) === stable(want.egress) &&
    stable(have.outboundTrafficPolicy) === stable(want.outboundTrafficPolicy)
  );
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : 1))) : val,
  ) ?? 'undefined';
}
