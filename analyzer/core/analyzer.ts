// The analyzer core: ingest (every shape, every transport) → resolve → graph
// + SQLite → scopes → ScopeTarget. One instance per process; transports call
// ingest() and await flush(), the xDS server hears scope changes through attach().
import { EventEmitter } from 'node:events';
import type { AccessLogRecord, AccessLogSink, Inventory, ScopeTarget, ServiceId } from '../../contracts/index.ts';
import { systemClock, type Clock } from './clock.ts';
import { Dedupe } from './dedupe.ts';
import type { EdgeKind } from './edge.ts';
import { DEFAULT_TTL_MS, Expiry } from './expiry.ts';
import { DependencyGraph, nodeKey, type MeshGraph } from './graph.ts';
import { IngestPipeline, type IngestContext } from './ingest.ts';
import { DEFAULT_MAX_LINE } from './normalize.ts';
import { Outcomes } from './outcomes.ts';
import { Policy, validateRule, type Pin, type ScopeRule } from './policy.ts';
import { Resolver } from './resolve.ts';
import { restore } from './restore.ts';
import { Scopes } from './scopes.ts';
import { flushBatch } from './store/batch.ts';
import { FlushHealth } from './store/flush-health.ts';
import { Store } from './store/store.ts';
import { InThreadStore } from './store/in-thread.ts';
import { StoreWorker, type StoreWrites } from './store/store-worker.ts';
import type { IngestResult, RawInput, RejectionLog } from './types.ts';
import { edgeView, edgeViews, rejectedViews, scopeReasonView, statsView, unresolvedViews, type AnalyzerStats, type EdgeView, type ScopeEntryView, type RejectedView, type UnresolvedView } from './views.ts';

export interface AnalyzerOptions {
  inventory: Inventory;
  /** SQLite file (created with its folder); ':memory:' (the default) keeps nothing. */
  db?: string;
  /** Wall time by default; a VirtualClock for replay and tests. */
  clock?: Clock;
  /** An edge unseen this long leaves its scope (default 7 days). */
  dependencyTtlMs?: number;
  /** Extra margin before expiry (default 10% of the TTL); see expiry.ts. */
  graceMs?: number;
  dedupeWindowMs?: number;
  dedupeMaxEntries?: number;
  maxLineBytes?: number;
  /** Told of every scope now and of every change from then on (or call attach() later). */
  target?: ScopeTarget;
  /** Where store failures and recoveries are told. */
  log?: (msg: string) => void;
}

export interface AnalyzerEvents {
  /** A service's scope changed (it is already pushed to the target). */
  scope: [service: ServiceId, deps: readonly ServiceId[]];
  /** An edge entered a scope: new, or back after expiry. */
  edge: [edge: EdgeView];
  /** An edge left its scope after the TTL. */
  expired: [edge: EdgeView];
}

export class Analyzer extends EventEmitter<AnalyzerEvents> {
  private readonly graphState = new DependencyGraph();
  private readonly policy = new Policy();
  private readonly outcomes = new Outcomes();
  private readonly scopesState: Scopes;
  private readonly expiry: Expiry;
  private readonly pipeline: IngestPipeline;
  private readonly ctx: IngestContext;
  private inv: Inventory;
  private timers: NodeJS.Timeout[] = [];
  private flushTimer?: NodeJS.Timeout;
  private lastFlushAt?: number;
  /** Store failures: counted, retried by the flush timer, reported by /readyz. */
  readonly storeHealth: FlushHealth;
  readonly clock: Clock;

  /**
   * Opens the store, restores graph, pins and rules, and computes every scope before returning.
   * Loading reads the file here, once; from then on the store's worker thread does every write
   * (a ':memory:' store, which no one else can read, keeps its writes on this thread).
   */
  static open(opts: AnalyzerOptions): Analyzer {
    const file = opts.db ?? ':memory:';
    const store = Store.open(file);
    if (file === ':memory:') {
      try {
        return new Analyzer(opts, store, new InThreadStore(store));
      } catch (err) {
        store.close();
        throw err;
      }
    }
    try {
      return new Analyzer(opts, store, new StoreWorker(file));
    } finally {
      store.close();
    }
  }

  /** Writes in flight, oldest first: a flush is durable only once every earlier one is. */
  private readonly writes = new Set<Promise<void>>();
  private closing?: Promise<void>;

  private constructor(opts: AnalyzerOptions, loaded: Store, private readonly store: StoreWrites) {
    super();
    this.inv = opts.inventory;
    this.clock = opts.clock ?? systemClock;
    this.storeHealth = new FlushHealth(opts.log ?? (() => {}));
    const ttl = opts.dependencyTtlMs ?? DEFAULT_TTL_MS;
    const grace = opts.graceMs ?? Expiry.defaultGrace(ttl);
    this.expiry = new Expiry(ttl, grace, this.clock.now() + grace);
    this.graphState.syncInventory(this.inv);
    restore(loaded, this.inv, this.graphState, this.policy, this.outcomes);
    for (const e of this.graphState.all()) if (e.active) this.expiry.noteActive(e);
    this.scopesState = new Scopes(this.inv, this.graphState, this.policy, (s, deps) => this.emit('scope', s, deps));
    this.scopesState.refreshAll();
    this.ctx = {
      resolver: new Resolver(this.inv),
      graph: this.graphState,
      dedupe: new Dedupe(opts.dedupeWindowMs, opts.dedupeMaxEntries),
      outcomes: this.outcomes,
      expiry: this.expiry,
      clock: this.clock,
      maxLine: opts.maxLineBytes ?? DEFAULT_MAX_LINE,
      onActivate: (e) => this.listenerCount('edge') > 0 && this.emit('edge', edgeView(e)),
      onExpire: (e) => {
        this.graphState.markDirty(e);
        if (this.listenerCount('expired') > 0) this.emit('expired', edgeView(e));
      },
    };
    this.pipeline = new IngestPipeline(this.ctx);
    if (opts.target) this.attach(opts.target);
  }

  get inventory(): Inventory {
    return this.inv;
  }

  /** The live graphology graph (nodes `service:ID` / `workload:ID`; edge attribute `edge`). Read it, don't change it. */
  get graph(): MeshGraph {
    return this.graphState.graph;
  }

  /** Ingests raw lines or decoded objects of any shape; bad ones are counted and kept, never thrown. */
  ingest(batch: readonly RawInput[], rejections?: RejectionLog): IngestResult {
    const changed = new Set<ServiceId>();
    const r = this.pipeline.batch(batch, changed, rejections);
    if (changed.size > 0) this.scopesState.refresh(changed);
    return r;
  }

  /** In-process records (the gateway, the xDS server's proxyless observations). */
  ingestRecords(records: readonly AccessLogRecord[], ref = 'in-process'): IngestResult {
    // Same checks as ingest(): a record that breaks the contract is rejected and counted, not trusted.
    const changed = new Set<ServiceId>();
    const r = this.pipeline.values(records, ref, changed);
    if (changed.size > 0) this.scopesState.refresh(changed);
    return r;
  }

  /** An AccessLogSink that ingests in-process: the embedded default transport. */
  readonly sink: AccessLogSink = {
    send: async (records) => {
      this.ingestRecords(records);
    },
  };

  /**
   * Makes everything ingested so far durable (one SQLite transaction in the store's worker thread);
   * resolves once it is. Transports acknowledge after it. Here only the changed rows are gathered.
   */
  flush(): Promise<void> {
    const o = this.outcomes.takeDirty();
    const edges = this.graphState.takeDirty();
    const batch = flushBatch(edges, o, { records: this.outcomes.records, accepted: this.outcomes.accepted, duplicates: this.outcomes.duplicates });
    const earlier = [...this.writes];
    const own = this.store.save(batch).then(
      () => {
        this.storeHealth.succeeded(Date.now());
        this.lastFlushAt = this.clock.now();
      },
      (err: Error) => {
        // Nothing is lost in memory: the next flush writes it again (transports have not acknowledged it).
        for (const e of edges) this.graphState.markDirty(e);
        this.outcomes.putBack(o);
        this.storeHealth.failed(err, Date.now());
        throw err;
      },
    );
    this.writes.add(own);
    const done = () => this.writes.delete(own);
    own.then(done, done);
    // An earlier flush still in flight may hold this caller's records (it took them first): if it
    // fails, they are pending again, not durable, so this flush fails too and its caller does not acknowledge.
    return Promise.all([...earlier, own]).then(() => undefined);
  }

  /** Pushes every current scope to `target` now, then each change as it happens; several targets may attach. Returns detach. */
  attach(target: ScopeTarget): () => void {
    return this.scopesState.attach(target);
  }

  /** Follows a new inventory version: resolution, graph nodes and the scopes it can change. */
  setInventory(next: Inventory): ServiceId[] {
    const changed = next.changedSince(this.inv);
    if (changed) this.graphState.syncChanged(this.inv, next, changed);
    else this.graphState.syncInventory(next);
    this.inv = next;
    this.ctx.resolver = new Resolver(next);
    return this.scopesState.setInventory(next);
  }

  /** When an active edge last seen at `lastSeenMs` leaves its scope if unseen until then (epoch ms), as expiry decides it. */
  expiresAt(lastSeenMs: number): number {
    return this.expiry.deadlineAt(lastSeenMs);
  }

  scope(service: ServiceId): readonly ServiceId[] {
    return this.scopesState.get(service);
  }

  /** Each entry of a service's scope with why it is there (edge, pin, rule), sorted by entry. */
  scopeWhy(service: ServiceId): ScopeEntryView[] {
    const reasons = this.scopesState.explain(service);
    return [...reasons].map(([dest, rs]) => ({ dest, reasons: rs.map((r) => scopeReasonView(r, (t) => this.expiresAt(t))) }));
  }

  /** Every inventory service with its (sorted) scope, empty ones included. */
  scopes(): Map<ServiceId, readonly ServiceId[]> {
    return this.scopesState.all();
  }

  edges(opts: { kind?: EdgeKind; includeExpired?: boolean } = {}): EdgeView[] {
    return edgeViews(this.graphState, opts);
  }

  /** Service-level edges out of and into one service (expired ones too), without walking the whole graph. */
  edgesOf(service: ServiceId): { out: EdgeView[]; in: EdgeView[] } {
    const key = nodeKey('service', service);
    const out: EdgeView[] = [];
    const into: EdgeView[] = [];
    if (this.graph.hasNode(key)) {
      this.graph.forEachOutEdge(key, (_k, a) => {
        if (a.kind === 'service') out.push(edgeView(a.edge));
      });
      this.graph.forEachInEdge(key, (_k, a) => {
        if (a.kind === 'service') into.push(edgeView(a.edge));
      });
    }
    const byEnds = (a: EdgeView, b: EdgeView) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0);
    return { out: out.sort(byEnds), in: into.sort(byEnds) };
  }

  rejected(): RejectedView[] {
    return rejectedViews(this.outcomes);
  }

  /** Unresolved callers and callees (external hosts, typos), most frequent first. */
  unresolved(): UnresolvedView[] {
    return unresolvedViews(this.outcomes);
  }

  stats(): AnalyzerStats {
    return statsView(this.outcomes, this.graphState, this.ctx.dedupe.size, this.lastFlushAt);
  }

  pins(): Pin[] {
    return [...this.policy.pins.values()];
  }

  /** Keeps `dest` in `source`'s scope whatever the traffic says. Both must be inventory services. Resolves once stored, with the new scope. */
  async pin(source: ServiceId, dest: ServiceId, note?: string): Promise<readonly ServiceId[]> {
    for (const [field, id] of [['source', source], ['dest', dest]] as const) {
      if (!this.inv.service(id)) throw new Error(`pin.${field}: ${id} is not a service of the mesh inventory; use NAME.NAMESPACE of a listed service`);
    }
    const pin: Pin = { source, dest, note, createdAt: this.clock.now() };
    await this.store.putPin(pin);
    this.policy.addPin(pin);
    this.scopesState.refresh([source]);
    return this.scope(source);
  }

  async unpin(source: ServiceId, dest: ServiceId): Promise<boolean> {
    if (!this.policy.pins.has(`${source} ${dest}`)) return false;
    await this.store.deletePin(source, dest);
    if (!this.policy.removePin(source, dest)) return false;
    this.scopesState.refresh([source]);
    return true;
  }

  rules(): ScopeRule[] {
    return [...this.policy.rules.values()];
  }

  /** Adds or replaces a rule (by id); scopes of the callers it covers change at once. */
  async addRule(rule: Omit<ScopeRule, 'createdAt'> & { createdAt?: number }): Promise<ScopeRule> {
    validateRule(rule);
    const stored: ScopeRule = { ...rule, createdAt: rule.createdAt ?? this.clock.now() };
    await this.store.putRule(stored);
    const previous = this.policy.rules.get(rule.id);
    this.policy.rules.set(stored.id, stored);
    this.refreshCallers(stored, previous);
    return stored;
  }

  async removeRule(id: string): Promise<boolean> {
    if (!this.policy.rules.has(id)) return false;
    await this.store.deleteRule(id);
    const previous = this.policy.rules.get(id);
    if (!previous) return false;
    this.policy.rules.delete(id);
    this.refreshCallers(previous);
    return true;
  }

  /** Expires edges past their deadline now; returns the services whose scope changed. */
  checkExpiry(): ServiceId[] {
    const now = this.clock.now();
    if (!this.expiry.due(now)) return [];
    const changed = this.expiry.sweep(this.graphState.all(), now, this.ctx.onExpire);
    return this.scopesState.refresh(changed);
  }

  /** Resolves once the store's writer is up with the database open, so the first flush does not pay for its start-up. */
  storeReady(): Promise<void> {
    return this.store.start();
  }

  /**
   * Live mode: flushes every `flushMs` (backing off while the store fails, see
   * flush-health.ts) and checks expiry every `expiryCheckMs` (timers don't hold the process).
   */
  start(opts: { flushMs?: number; expiryCheckMs?: number } = {}): this {
    const flushMs = opts.flushMs ?? 1000;
    // Failures to open are the flush's to report (flush-health.ts), with their retries.
    this.store.start().catch(() => {});
    // The next tick is timed from the end of this flush: never two timer flushes at once.
    const tick = () => {
      this.flushTimer = undefined;
      // A failure is counted and logged by storeHealth; what failed stays pending for the next tick.
      void this.flush()
        .catch(() => {})
        .then(() => {
          if (!this.closing) this.flushTimer = setTimeout(tick, this.storeHealth.nextDelay(flushMs)).unref();
        });
    };
    this.flushTimer = setTimeout(tick, flushMs).unref();
    this.timers.push(setInterval(() => this.checkExpiry(), opts.expiryCheckMs ?? 30_000).unref());
    // A changed scope reaches the sinks at once (xDS pushes, Sidecar writes): persist what changed it on the
    // next tick rather than up to flushMs later, so an analyzer killed meanwhile cannot come back with a
    // narrower scope than the proxies and Sidecars already hold (a flap on restart).
    this.on('scope', this.flushSoon);
    return this;
  }

  private flushPending?: NodeJS.Immediate;
  private readonly flushSoon = (): void => {
    this.flushPending ??= setImmediate(() => {
      this.flushPending = undefined;
      // A failure is counted by storeHealth; the timer retries what stays pending.
      this.flush().catch(() => {});
    });
  };

  /** Flushes (rejecting if that fails), then closes the store and its worker thread. */
  close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.off('scope', this.flushSoon);
    clearImmediate(this.flushPending);
    this.flushPending = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.closing ??= this.flush().finally(() => this.store.close());
    return this.closing;
  }

  private refreshCallers(...rules: Array<ScopeRule | undefined>): void {
    const callers = new Set<ServiceId>();
    for (const r of rules) if (r) for (const s of Policy.callersOf(r.source, this.inv)) callers.add(s);
    this.scopesState.refresh(callers);
  }
}
