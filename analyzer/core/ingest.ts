// The per-record path: normalize → resolve → dedupe → aggregate. A record on a
// known edge costs a few Map lookups and counter increments; anything that
// changes a scope is reported through `changed` and handled once per batch.
import type { ServiceId } from '../../contracts/index.ts';
import type { Clock } from './clock.ts';
import type { Dedupe } from './dedupe.ts';
import type { Edge } from './edge.ts';
import type { Expiry } from './expiry.ts';
import type { DependencyGraph } from './graph.ts';
import { bucketOf } from './histogram.ts';
import { isRejection, normalize } from './normalize.ts';
import type { Outcomes } from './outcomes.ts';
import type { Resolver } from './resolve.ts';
import type { IngestResult, NormalizedRecord, RawInput, RejectionLog } from './types.ts';

export type Outcome = 'accepted' | 'rejected' | 'unresolved' | 'duplicate';

export interface IngestContext {
  resolver: Resolver;
  graph: DependencyGraph;
  dedupe: Dedupe;
  outcomes: Outcomes;
  expiry: Expiry;
  clock: Clock;
  maxLine: number;
  /** An edge entered a scope (new, or back after expiry). */
  onActivate(e: Edge): void;
  onExpire(e: Edge): void;
}

export class IngestPipeline {
  /** Why the latest rejected record was rejected. */
  private lastRejection = { reason: '', detail: '' };

  constructor(private readonly c: IngestContext) {}

  batch(inputs: readonly RawInput[], changed: Set<ServiceId>, log?: RejectionLog): IngestResult {
    const r: IngestResult = { accepted: 0, rejected: 0, unresolved: 0, duplicates: 0 };
    for (const input of inputs) {
      const o = this.one(input, changed);
      count(r, o);
      if (o === 'rejected' && log && log.entries.length < log.max) log.entries.push({ ref: input.ref, ...this.lastRejection });
    }
    return r;
  }

  /** Decoded objects from one place (in-process producers): no RawInput wrapper per record. */
  values(values: readonly unknown[], ref: string, changed: Set<ServiceId>): IngestResult {
    const r: IngestResult = { accepted: 0, rejected: 0, unresolved: 0, duplicates: 0 };
    for (const value of values) {
      this.c.outcomes.records++;
      count(r, this.value(value, ref, changed));
    }
    return r;
  }

  one({ value, ref, rejectReason, rejectDetail }: RawInput, changed: Set<ServiceId>): Outcome {
    this.c.outcomes.records++;
    if (rejectReason !== undefined) {
      this.lastRejection = { reason: rejectReason, detail: rejectDetail ?? 'rejected by the transport' };
      this.c.outcomes.reject(rejectReason, this.lastRejection.detail, value, ref, this.c.clock.now());
      return 'rejected';
    }
    return this.value(value, ref, changed);
  }

  private value(value: unknown, ref: string, changed: Set<ServiceId>): Outcome {
    const rec = normalize(value, this.c.maxLine);
    if (isRejection(rec)) {
      this.lastRejection = { reason: rec.reason, detail: rec.detail };
      this.c.outcomes.reject(rec.reason, rec.detail, value, ref, this.c.clock.now());
      return 'rejected';
    }
    return this.aggregate(rec, ref, changed);
  }

  aggregate(rec: NormalizedRecord, ref: string, changed: Set<ServiceId>): Outcome {
    const { clock, expiry, graph, outcomes, resolver, dedupe } = this.c;
    if (rec.timeMs !== undefined) clock.observe(rec.timeMs);
    const now = clock.now();
    if (expiry.due(now)) for (const s of expiry.sweep(graph.all(), now, this.c.onExpire)) changed.add(s);
    // Never in the future: a skewed sender must not keep an edge alive past its TTL.
    const time = rec.timeMs === undefined || rec.timeMs > now ? now : rec.timeMs;

    const caller = resolver.source(rec);
    if (typeof caller === 'string') {
      const dest = rec.clusterHost ?? rec.authority ?? rec.sni ?? rec.upstreamHost;
      if (rec.requestId !== undefined && dedupe.seenBefore(rec.requestId, rec.timeMs, `?${caller}`, dest ?? '', now)) return this.duplicate();
      outcomes.unresolve('source', caller, '', ref, time);
      return 'unresolved';
    }
    const source = caller.service.id;
    const dest = resolver.destination(rec, caller.service.namespace);
    const destId = typeof dest === 'string' ? dest : dest.id;
    if (rec.requestId !== undefined && dedupe.seenBefore(rec.requestId, rec.timeMs, source, destId, now)) return this.duplicate();
    if (typeof dest === 'string') {
      outcomes.unresolve('destination', dest, source, ref, time);
      return 'unresolved';
    }

    const fresh = expiry.fresh(time, now);
    const bucket = bucketOf(rec.durationMs);
    const se = graph.edge('service', source, destId);
    if (this.update(se, rec, time, bucket, fresh)) changed.add(source);
    if (caller.workload) this.update(graph.edge('workload', caller.workload.id, destId, source), rec, time, bucket, fresh);
    outcomes.accepted++;
    return 'accepted';
  }

  /** Adds the record to the edge; true when that brought the edge into scope. */
  private update(e: Edge, rec: NormalizedRecord, time: number, bucket: number, fresh: boolean): boolean {
    e.add(time, rec.code, bucket, rec.protocol);
    this.c.graph.markDirty(e);
    if (e.active || !fresh) return false;
    e.active = true;
    this.c.expiry.noteActive(e);
    this.c.onActivate(e);
    return true;
  }

  private duplicate(): Outcome {
    this.c.outcomes.duplicates++;
    return 'duplicate';
  }
}

function count(r: IngestResult, o: Outcome): void {
  if (o === 'accepted') r.accepted++;
  else if (o === 'rejected') r.rejected++;
  else if (o === 'unresolved') r.unresolved++;
  else r.duplicates++;
}
