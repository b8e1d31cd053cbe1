// Rebuilds the in-memory state from the store at start, before anything is
// served: a restart must never shrink a proxy's configuration.
import type { Inventory } from '../../contracts/index.ts';
import type { DependencyGraph } from './graph.ts';
import { LatencyHistogram } from './histogram.ts';
import type { Outcomes } from './outcomes.ts';
import type { Policy } from './policy.ts';
import type { Store } from './store/store.ts';

export function restore(store: Store, inv: Inventory, graph: DependencyGraph, policy: Policy, outcomes: Outcomes): void {
  for (const row of store.loadEdges()) {
    const workloadService = row.kind === 'workload' ? inv.workload(row.source)?.service : undefined;
    const e = graph.edge(row.kind, row.source, row.dest, workloadService);
    e.count = row.count;
    e.errors = row.errors;
    e.firstSeen = row.first_seen;
    e.lastSeen = row.last_seen;
    e.protocols.push(...row.protocols.split(',').filter(Boolean));
    e.latency = LatencyHistogram.fromBuffer(row.latency);
    e.active = row.active === 1;
    if (row.via_gateway !== null) e.lastViaGateway = row.via_gateway;
    if (row.direct !== null) e.lastDirect = row.direct;
    e.reporters.push(...row.reporters.split(',').filter(Boolean));
  }
  for (const p of store.loadPins()) policy.addPin(p);
  for (const r of store.loadRules()) policy.rules.set(r.id, r);
  for (const r of store.loadRejected()) outcomes.restoreRejected(r);
  for (const u of store.loadUnresolved()) outcomes.restoreUnresolved(u);
  const c = store.loadCounters();
  outcomes.records = c.records ?? 0;
  outcomes.accepted = c.accepted ?? 0;
  outcomes.duplicates = c.duplicates ?? 0;
}
