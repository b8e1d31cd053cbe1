// The scope API the analyzer drives. It only records what each source must
// see and says who changed; the cache decides what that means per node.
import type { ScopeTarget, ServiceId, Workload, WorkloadId } from '../../contracts/index.ts';

export type ScopeChange = { kind: 'service'; id: ServiceId } | { kind: 'workload'; id: WorkloadId };

function normalize(deps: Iterable<ServiceId>): ServiceId[] {
  return [...new Set(deps)].sort();
}

function same(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));
}

export class ScopeStore implements ScopeTarget {
  private readonly byService = new Map<ServiceId, ServiceId[]>();
  private readonly byWorkload = new Map<WorkloadId, ServiceId[]>();

  /** `onChange` runs synchronously after each effective change (a repeated scope is no change). */
  constructor(private readonly onChange: (change: ScopeChange) => void) {}

  setServiceScope(service: ServiceId, deps: Iterable<ServiceId>): void {
    const next = normalize(deps);
    if (same(this.byService.get(service), next)) return;
    this.byService.set(service, next);
    this.onChange({ kind: 'service', id: service });
  }

  setWorkloadScope(workload: WorkloadId, deps: Iterable<ServiceId> | undefined): void {
    const next = deps === undefined ? undefined : normalize(deps);
    if (same(this.byWorkload.get(workload), next)) return;
    if (next === undefined) this.byWorkload.delete(workload);
    else this.byWorkload.set(workload, next);
    this.onChange({ kind: 'workload', id: workload });
  }

  /** The declared scope of a workload (its override, else its service's), sorted; may name absent services. */
  declared(workload: Pick<Workload, 'id' | 'service'> | undefined): readonly ServiceId[] {
    if (!workload) return [];
    return this.byWorkload.get(workload.id) ?? this.byService.get(workload.service) ?? [];
  }
}
