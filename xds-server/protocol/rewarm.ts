// Envoy re-warms a cluster whose definition changed and keeps it warming until
// a ClusterLoadAssignment arrives for it — even one it already has (envoy
// issue #13009). So a changed cluster forces its same-named endpoints to be
// sent again. Clusters and their ClusterLoadAssignments share names here
// (the cache's naming rule); a cluster with another EDS service_name would
// need that name instead.
import type { EncodedResource } from '../types.ts';
import type { TypeState } from './type-state.ts';

export function forceRewarm<H>(
  endpoints: TypeState<unknown> | undefined,
  clientBefore: ReadonlyMap<string, H>,
  clusters: Iterable<EncodedResource>,
  versionOf: (held: H) => string,
): void {
  if (!endpoints?.requested) return;
  for (const c of clusters) {
    const before = clientBefore.get(c.name);
    if (before !== undefined && versionOf(before) !== c.version && endpoints.sub.includes(c.name)) {
      endpoints.forced.add(c.name);
      endpoints.dirty = true;
    }
  }
}
