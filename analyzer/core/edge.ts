// One dependency edge's running summary. Updating it is the hot path: plain
// field increments, no allocation.
import type { ServiceId } from '../../contracts/index.ts';
import { LatencyHistogram } from './histogram.ts';

/** `service`: service → service (what scopes use); `workload`: one pod → service (finer view). */
export type EdgeKind = 'service' | 'workload';

export class Edge {
  count = 0;
  /** Responses with a 5xx code. */
  errors = 0;
  firstSeen = Infinity;
  lastSeen = -Infinity;
  readonly protocols: string[] = [];
  latency = new LatencyHistogram();
  /** Changed since the last flush. */
  dirty = false;
  private inScope = false;

  constructor(
    readonly kind: EdgeKind,
    readonly source: string,
    readonly dest: ServiceId,
    readonly key: string,
    /** Kept current as edges enter and leave scope, so counting them is O(1) (/metrics). */
    private readonly tally: EdgeTally = { activeServiceEdges: 0 },
  ) {}

  /** In scope: seen within the TTL (see expiry.ts for the exact rule). */
  get active(): boolean {
    return this.inScope;
  }

  set active(v: boolean) {
    if (v !== this.inScope && this.kind === 'service') this.tally.activeServiceEdges += v ? 1 : -1;
    this.inScope = v;
  }

  /** `latencyBucket` from bucketOf(durationMs): -1 when the record has no duration. */
  add(time: number, code: number, latencyBucket: number, protocol: string): void {
    this.count++;
    if (code >= 500) this.errors++;
    if (time < this.firstSeen) this.firstSeen = time;
    if (time > this.lastSeen) this.lastSeen = time;
    if (!this.protocols.includes(protocol)) this.protocols.push(protocol);
    this.latency.addBucket(latencyBucket);
  }
}

export interface EdgeTally {
  activeServiceEdges: number;
}

export function edgeKey(kind: EdgeKind, source: string, dest: ServiceId): string {
  return `${kind === 'service' ? 'S' : 'W'} ${source} ${dest}`;
}
