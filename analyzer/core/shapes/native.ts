// Shape 1: the native record (contracts/access-log.ts), as the gateway and the
// xDS server (reporter "xds", proxyless subscriptions) emit it.
import type { NormalizedRecord } from '../types.ts';
import { parseCluster } from './envoy.ts';
import { ipOf, num, protocolName, str, time, type Obj } from './fields.ts';

/** Keys that name a caller or callee: their presence selects this shape. */
export const NATIVE_KEYS = ['source', 'sourceAddress', 'authority', 'upstreamCluster'];
/** Keys this shape shares with shippers' envelopes (`time`): they select it only when nothing is wrapped. */
export const NATIVE_WEAK_KEYS = ['time', 'durationMs', 'requestId'];

/** Whether any of NATIVE_KEYS (and, when `weak`, NATIVE_WEAK_KEYS) is set; spelled out like hasEnvoyKey. */
export function hasNativeKey(o: Obj, weak: boolean): boolean {
  if (o.source !== undefined || o.sourceAddress !== undefined || o.authority !== undefined || o.upstreamCluster !== undefined) return true;
  return weak && (o.time !== undefined || o.durationMs !== undefined || o.requestId !== undefined);
}

export function fromNative(o: Obj, pod: string | undefined): NormalizedRecord {
  const cluster = parseCluster(str(o, 'upstreamCluster'));
  const authority = str(o, 'authority');
  return {
    timeMs: time(o, 'time'),
    source: str(o, 'source'),
    sourceAddress: ipOf(str(o, 'sourceAddress')),
    pod,
    inbound: cluster.inbound,
    authority: authority === undefined ? undefined : stripTarget(authority),
    clusterHost: cluster.host,
    clusterPort: cluster.port,
    protocol: protocolName(str(o, 'protocol')) ?? 'http',
    code: num(o, 'code') ?? 0,
    durationMs: num(o, 'durationMs') ?? -1,
    requestId: str(o, 'requestId'),
    reporter: str(o, 'reporter'),
  };
}

/** Proxyless clients name targets as URIs (`xds:///reviews:9080`); the authority is the host part. */
function stripTarget(authority: string): string {
  // `://` starts at a colon: the cheap one-character search rules out most authorities.
  const colon = authority.indexOf(':');
  const scheme = colon === -1 ? -1 : authority.indexOf('://', colon);
  if (scheme === -1) return authority;
  const rest = authority.slice(scheme + 3);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(slash + 1) || rest.slice(0, slash);
}
