// Plain, JSON-ready views of the core's state for the API, the graph page and
// the replay report. Times are ISO 8601 strings.
import type { ServiceId } from '../../contracts/index.ts';
import type { Edge, EdgeKind } from './edge.ts';
import type { DependencyGraph } from './graph.ts';
import type { Outcomes, RejectedEntry, UnresolvedEntry } from './outcomes.ts';
import type { ScopeReason } from './scopes.ts';
import type { IngestResult, UnresolvedKind } from './types.ts';

export interface EdgeView {
  kind: EdgeKind;
  /** A service id (kind `service`) or a workload id (kind `workload`). */
  source: string;
  dest: ServiceId;
  count: number;
  errors: number;
  firstSeen: string;
  lastSeen: string;
  protocols: string[];
  p50Ms?: number;
  p99Ms?: number;
  /** In scope now; false once expired (see --dependency-ttl). */
  active: boolean;
  /** Last call reported by the lazy gateway / by anything else (the caller went direct). */
  lastViaGateway?: string;
  lastDirect?: string;
  /** Who reported it: `gateway`, `envoy`, `xds`, `log`. */
  reporters: string[];
}

export interface RejectedView {
  reason: string;
  count: number;
  firstAt: string;
  lastAt: string;
  /** The latest few, oldest first. */
  samples: Array<{ ref: string; detail: string; raw: string; at: string }>;
}

export interface UnresolvedView {
  kind: UnresolvedKind;
  /** The host not in the inventory (destination), or the caller spelling (source). */
  key: string;
  /** The caller of an unresolved destination; '' for an unresolved source. */
  source: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  ref: string;
}

/** Why one entry is in a scope, as the API shows it. */
export type ScopeReasonView =
  | {
      kind: 'edge';
      /** Who reported the calls: `gateway`, `envoy`, `xds`, `log`. */
      reporters: string[];
      lastSeen: string;
      /** How the latest call went: through the lazy gateway, direct, or unknown (stored before routes were kept). */
      route: 'gateway' | 'direct' | 'unknown';
      /** When it leaves the scope if no call is seen before (see --dependency-ttl). */
      expiresAt: string;
    }
  | { kind: 'pin'; note?: string; createdAt: string }
  | { kind: 'rule'; rule: string; source: string; namespace?: string; selector?: Record<string, string> };

export interface ScopeEntryView {
  dest: ServiceId;
  reasons: ScopeReasonView[];
}

/** Totals since the store was created; `records` = accepted + rejected + unresolved + duplicates. */
export interface AnalyzerStats extends IngestResult {
  records: number;
  rejectedByReason: Record<string, number>;
  unresolvedByKind: Record<UnresolvedKind, number>;
  /** Service-level edges in scope now. */
  edges: number;
  /** Every remembered edge, service- and workload-level, expired ones included. */
  edgesKnown: number;
  dedupeEntries: number;
  lastFlushAt?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function edgeView(e: Edge): EdgeView {
  return {
    kind: e.kind,
    source: e.source,
    dest: e.dest,
    count: e.count,
    errors: e.errors,
    firstSeen: iso(e.firstSeen),
    lastSeen: iso(e.lastSeen),
    protocols: [...e.protocols].sort(),
    p50Ms: e.latency.quantile(0.5),
    p99Ms: e.latency.quantile(0.99),
    active: e.active,
    lastViaGateway: Number.isFinite(e.lastViaGateway) ? iso(e.lastViaGateway) : undefined,
    lastDirect: Number.isFinite(e.lastDirect) ? iso(e.lastDirect) : undefined,
    reporters: [...e.reporters].sort(),
  };
}

export function scopeReasonView(r: ScopeReason, expiresAt: (lastSeen: number) => number): ScopeReasonView {
  if (r.kind === 'pin') return { kind: 'pin', note: r.pin.note, createdAt: iso(r.pin.createdAt) };
  if (r.kind === 'rule') {
    const { id, source, namespace, selector } = r.rule;
    return namespace !== undefined ? { kind: 'rule', rule: id, source, namespace } : { kind: 'rule', rule: id, source, selector: { ...selector } };
  }
  const e = r.edge;
  const route = e.lastViaGateway === -Infinity && e.lastDirect === -Infinity ? 'unknown' : e.lastViaGateway > e.lastDirect ? 'gateway' : 'direct';
  return { kind: 'edge', reporters: [...e.reporters].sort(), lastSeen: iso(e.lastSeen), route, expiresAt: iso(expiresAt(e.lastSeen)) };
}

export function rejectedView(e: RejectedEntry): RejectedView {
  return {
    reason: e.reason,
    count: e.count,
    firstAt: iso(e.firstAt),
    lastAt: iso(e.lastAt),
    samples: e.samples.map((s) => ({ ref: s.ref, detail: s.detail, raw: s.raw, at: iso(s.at) })),
  };
}

export function unresolvedView(e: UnresolvedEntry): UnresolvedView {
  return { ...e, firstSeen: iso(e.firstSeen), lastSeen: iso(e.lastSeen) };
}

export function edgeViews(graph: DependencyGraph, opts: { kind?: EdgeKind; includeExpired?: boolean }): EdgeView[] {
  const out: EdgeView[] = [];
  for (const e of graph.all()) {
    if ((opts.kind === undefined || e.kind === opts.kind) && (e.active || opts.includeExpired)) out.push(edgeView(e));
  }
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.source.localeCompare(b.source) || a.dest.localeCompare(b.dest));
}

/** Most frequent first. */
export function rejectedViews(o: Outcomes): RejectedView[] {
  return [...o.rejected.values()].map(rejectedView).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** Most frequent first. */
export function unresolvedViews(o: Outcomes): UnresolvedView[] {
  return [...o.unresolved.values()].map(unresolvedView).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

export function statsView(o: Outcomes, graph: DependencyGraph, dedupeEntries: number, lastFlushAt: number | undefined): AnalyzerStats {
  const edges = graph.tally.activeServiceEdges;
  return {
    records: o.records,
    accepted: o.accepted,
    rejected: o.rejectedTotal,
    unresolved: o.unresolvedTotal,
    duplicates: o.duplicates,
    rejectedByReason: Object.fromEntries([...o.rejected.values()].map((e) => [e.reason, e.count])),
    unresolvedByKind: { ...o.unresolvedByKind },
    edges,
    edgesKnown: graph.size,
    dedupeEntries,
    lastFlushAt: lastFlushAt === undefined ? undefined : iso(lastFlushAt),
  };
}
