// Make-before-break sequencing across types on one ADS stream, after the xDS
// protocol's "eventual consistency considerations":
//  - pending types go out in PUSH_ORDER (CDS → EDS → LDS → RDS);
//  - listeners and routes also wait while a cluster response is in flight.
//    Envoy ACKs CDS only once the new clusters are warm (their endpoints
//    arrived), so routes reach it after the clusters they name can take traffic;
//  - nothing waits for endpoints: EDS churn must not starve listeners and
//    routes, and EDS itself never waits for CDS — Envoy holds the CDS ACK until
//    EDS arrives, so waiting would stall until its initial_fetch_timeout;
//  - removals of clusters wait until listeners and routes have settled (no
//    response in flight, nothing pending), i.e. have moved off them; in delta,
//    endpoint removals also wait for clusters to settle.
import { PUSH_ORDER, TypeUrl } from '../types.ts';

/** Position in PUSH_ORDER; types we do not serve come last. */
export function pushRank(typeUrl: string): number {
  const i = PUSH_ORDER.indexOf(typeUrl as TypeUrl);
  return i < 0 ? PUSH_ORDER.length : i;
}

const WAITS_FOR: ReadonlyMap<string, readonly string[]> = new Map([
  [TypeUrl.Listener, [TypeUrl.Cluster]],
  [TypeUrl.Route, [TypeUrl.Cluster]],
]);

const REMOVAL_WAITS_FOR: ReadonlyMap<string, readonly string[]> = new Map([
  [TypeUrl.Cluster, [TypeUrl.Listener, TypeUrl.Route]],
  [TypeUrl.Endpoint, [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.Route]],
]);

/** Whether `typeUrl` must wait because a type it depends on has a response in flight. */
export function waitsFor(typeUrl: string, inFlight: ReadonlySet<string>): boolean {
  for (const t of WAITS_FOR.get(typeUrl) ?? []) if (inFlight.has(t)) return true;
  return false;
}

interface Settles {
  readonly typeUrl: string;
  readonly settled: boolean;
}

/** Whether removals of `typeUrl` may be sent now, given every type's state on the stream. */
export function mayRemove(typeUrl: string, states: Iterable<Settles>): boolean {
  const deps = REMOVAL_WAITS_FOR.get(typeUrl);
  if (!deps) return true;
  for (const st of states) if (deps.includes(st.typeUrl) && !st.settled) return false;
  return true;
}
