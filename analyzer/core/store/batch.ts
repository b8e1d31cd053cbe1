// What a flush hands to the store's worker thread: the changed edges as plain
// rows (live Edge objects cannot cross threads) and their histograms packed
// into one buffer that is transferred, not copied.
import type { Edge } from '../edge.ts';
import { BUCKETS } from '../histogram.ts';
import type { Outcomes } from '../outcomes.ts';
import type { EdgeWrite, FlushBatch } from './store.ts';

export function flushBatch(edges: readonly Edge[], o: ReturnType<Outcomes['takeDirty']>, counters: Record<string, number>): FlushBatch {
  const latency = new Float64Array(edges.length * BUCKETS);
  const ms = (t: number) => (Number.isFinite(t) ? t : null);
  const rows = edges.map((e, i): EdgeWrite => {
    latency.set(e.latency.counts, i * BUCKETS);
    return {
      kind: e.kind,
      source: e.source,
      dest: e.dest,
      count: e.count,
      errors: e.errors,
      first_seen: e.firstSeen,
      last_seen: e.lastSeen,
      protocols: e.protocols.join(','),
      active: e.active ? 1 : 0,
      via_gateway: ms(e.lastViaGateway),
      direct: ms(e.lastDirect),
      reporters: e.reporters.join(','),
    };
  });
  return { edges: rows, latency, rejected: o.rejected, samples: o.samples, unresolved: o.unresolved, counters };
}
