// Every record that did not become an edge is counted and kept: rejected
// records by reason with their latest raw samples, unresolved callers and
// callees per spelling (users want to see their external calls).
import type { ServiceId } from '../../contracts/index.ts';
import type { UnresolvedKind } from './types.ts';

export const SAMPLES_PER_REASON = 5;
const SAMPLE_CHARS = 1000;
/** Distinct unresolved spellings kept; past it they pool under OTHER so a scan cannot grow memory. */
export const MAX_UNRESOLVED_KEYS = 10_000;
export const OTHER = '(other)';

export interface RejectedSample {
  ref: string;
  detail: string;
  /** The raw input, cut to 1000 characters. */
  raw: string;
  at: number;
}

export interface RejectedEntry {
  reason: string;
  count: number;
  firstAt: number;
  lastAt: number;
  samples: RejectedSample[];
}

export interface UnresolvedEntry {
  kind: UnresolvedKind;
  /** The host (destination) or the spelling of the caller (source). */
  key: string;
  /** The resolved caller of an unresolved destination; '' for an unresolved source. */
  source: ServiceId | '';
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** Where the latest one came from. */
  ref: string;
}

export class Outcomes {
  records = 0;
  accepted = 0;
  duplicates = 0;
  rejectedTotal = 0;
  unresolvedTotal = 0;
  /** unresolvedTotal by kind, kept as they come (for /metrics, without a scan). */
  readonly unresolvedByKind: Record<UnresolvedKind, number> = { source: 0, destination: 0 };
  readonly rejected = new Map<string, RejectedEntry>();
  readonly unresolved = new Map<string, UnresolvedEntry>();
  private dirtyRejected = new Set<RejectedEntry>();
  private dirtyUnresolved = new Set<UnresolvedEntry>();
  private newSamples: Array<{ reason: string; sample: RejectedSample }> = [];

  reject(reason: string, detail: string, raw: unknown, ref: string, at: number): void {
    this.rejectedTotal++;
    let e = this.rejected.get(reason);
    if (!e) this.rejected.set(reason, (e = { reason, count: 0, firstAt: at, lastAt: at, samples: [] }));
    e.count++;
    if (at > e.lastAt) e.lastAt = at;
    const sample = { ref, detail, raw: rawText(raw), at };
    e.samples.push(sample);
    if (e.samples.length > SAMPLES_PER_REASON) e.samples.shift();
    this.newSamples.push({ reason, sample });
    this.dirtyRejected.add(e);
  }

  unresolve(kind: UnresolvedKind, key: string, source: ServiceId | '', ref: string, time: number): void {
    this.unresolvedTotal++;
    this.unresolvedByKind[kind]++;
    let id = `${kind} ${source} ${key}`;
    let e = this.unresolved.get(id);
    if (!e && this.unresolved.size >= MAX_UNRESOLVED_KEYS) {
      id = `${kind} ${source} ${OTHER}`;
      e = this.unresolved.get(id);
      key = OTHER;
    }
    if (!e) this.unresolved.set(id, (e = { kind, key, source, count: 0, firstSeen: time, lastSeen: time, ref }));
    e.count++;
    if (time < e.firstSeen) e.firstSeen = time;
    if (time > e.lastSeen) e.lastSeen = time;
    e.ref = ref;
    this.dirtyUnresolved.add(e);
  }

  /** What changed since the last call, for the store. */
  takeDirty(): { rejected: RejectedEntry[]; samples: Array<{ reason: string; sample: RejectedSample }>; unresolved: UnresolvedEntry[] } {
    // Samples already pushed out of the latest few need no writing.
    const samples = this.newSamples.filter((n) => this.rejected.get(n.reason)?.samples.includes(n.sample));
    const out = { rejected: [...this.dirtyRejected], samples, unresolved: [...this.dirtyUnresolved] };
    this.dirtyRejected.clear();
    this.dirtyUnresolved.clear();
    this.newSamples = [];
    return out;
  }

  /** Makes what takeDirty() returned dirty again: the write that was to persist it failed. */
  putBack(d: ReturnType<Outcomes['takeDirty']>): void {
    for (const e of d.rejected) this.dirtyRejected.add(e);
    for (const e of d.unresolved) this.dirtyUnresolved.add(e);
    this.newSamples = [...d.samples, ...this.newSamples];
  }

  restoreUnresolved(e: UnresolvedEntry): void {
    this.unresolved.set(`${e.kind} ${e.source} ${e.key}`, e);
    this.unresolvedTotal += e.count;
    this.unresolvedByKind[e.kind] += e.count;
  }

  restoreRejected(e: RejectedEntry): void {
    this.rejected.set(e.reason, e);
    this.rejectedTotal += e.count;
  }
}

function rawText(raw: unknown): string {
  let s: string;
  if (typeof raw === 'string') s = raw;
  else {
    try {
      s = JSON.stringify(raw) ?? String(raw);
    } catch {
      s = String(raw);
    }
  }
  return s.length > SAMPLE_CHARS ? `${s.slice(0, SAMPLE_CHARS)}…` : s;
}
