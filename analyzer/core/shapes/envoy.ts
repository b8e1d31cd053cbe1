// Shape 2: Envoy / Istio JSON access log (istio-proxy with JSON encoding, or
// the lazy gateway's log). Keys follow Istio's default JSON format, plus the
// caller header logged as `x_meshscope_source` (or `x-meshscope-source`).
import type { NormalizedRecord } from '../types.ts';
import { ipOf, num, protocolName, str, time, type Obj } from './fields.ts';

/** Keys only this shape uses: their presence selects it. */
export const ENVOY_KEYS = [
  'start_time', 'upstream_cluster', 'downstream_remote_address', 'response_code',
  'x_meshscope_source', 'x-meshscope-source', 'upstream_host', 'request_id',
];

/**
 * Whether any of ENVOY_KEYS is set. Spelled out because each read site keeps
 * its own inline cache, where a loop over the list sends every key through one
 * generic lookup: this runs for every record.
 */
export function hasEnvoyKey(o: Obj): boolean {
  return (
    o.start_time !== undefined || o.upstream_cluster !== undefined || o.downstream_remote_address !== undefined || o.response_code !== undefined ||
    o.x_meshscope_source !== undefined || o['x-meshscope-source'] !== undefined || o.upstream_host !== undefined || o.request_id !== undefined
  );
}

export function fromEnvoy(o: Obj, pod: string | undefined): NormalizedRecord {
  const cluster = parseCluster(str(o, 'upstream_cluster'));
  const authority = str(o, 'authority');
  const code = num(o, 'response_code') ?? 0;
  const grpcStatus = o.grpc_status;
  const grpc = grpcStatus !== undefined && grpcStatus !== null && grpcStatus !== '-' && grpcStatus !== '';
  // Envoy logs TCP proxying with neither an authority nor a response code.
  const fallback = authority === undefined && code === 0 ? 'tcp' : 'http';
  return {
    timeMs: time(o, 'start_time'),
    source: str(o, 'x_meshscope_source') ?? str(o, 'x-meshscope-source'),
    sourceAddress: ipOf(str(o, 'downstream_remote_address')),
    pod,
    inbound: cluster.inbound,
    authority,
    clusterHost: cluster.host,
    clusterPort: cluster.port,
    sni: serverName(str(o, 'requested_server_name')),
    upstreamHost: ipOf(str(o, 'upstream_host')),
    protocol: grpc ? 'grpc' : protocolName(str(o, 'protocol')) ?? fallback,
    code,
    durationMs: num(o, 'duration') ?? -1,
    requestId: str(o, 'request_id'),
  };
}

export interface ParsedCluster {
  inbound: boolean;
  host?: string;
  port?: number;
}

/**
 * Istio names clusters `DIRECTION|PORT|SUBSET|HOST`. Only an outbound cluster
 * names a destination; anything else (PassthroughCluster, the gateway's
 * cluster) leaves the destination to the authority.
 */
export function parseCluster(name: string | undefined): ParsedCluster {
  if (name === undefined) return NONE;
  let hit = clusters.get(name);
  if (hit === undefined) {
    hit = parse(name);
    // A mesh has a bounded set of cluster names; the cap only guards against garbage.
    if (clusters.size >= 10_000) clusters.clear();
    clusters.set(name, hit);
  }
  return hit;
}

const NONE: ParsedCluster = Object.freeze({ inbound: false });
const clusters = new Map<string, ParsedCluster>();

function parse(name: string): ParsedCluster {
  const parts = name.split('|');
  if (parts.length !== 4) return NONE;
  if (parts[0] === 'inbound') return { inbound: true };
  if (parts[0] !== 'outbound' || parts[3] === '') return NONE;
  const port = Number(parts[1]);
  return { inbound: false, host: parts[3].toLowerCase(), port: Number.isInteger(port) && port > 0 ? port : undefined };
}

/** Istio's own mTLS names (`outbound_.9080_._.reviews.default.svc.cluster.local`) carry the host last. */
function serverName(sni: string | undefined): string | undefined {
  if (sni === undefined || !sni.startsWith('outbound_.')) return sni;
  const parts = sni.split('_.');
  return parts.length === 4 ? parts[3] : undefined;
}
