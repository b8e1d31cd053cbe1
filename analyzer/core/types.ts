// The records and outcomes the core passes between its stages, and the seam
// the transports (analyzer/sources/) hand raw input through.
import type { ServiceId } from '../../contracts/index.ts';

/** One record as it arrived: an unparsed line (NDJSON, a Kafka value) or an already-decoded object. */
export interface RawInput {
  value: string | Record<string, unknown>;
  /** Where it came from, kept with rejected samples: `traffic.jsonl:17`, `kafka:TOPIC/P@OFFSET`, ... */
  ref: string;
  /** Set when the transport already knows the record is unusable; counted under this reason. */
  rejectReason?: string;
  /** What the transport saw, kept with the rejected sample (e.g. the size of an oversized line). */
  rejectDetail?: string;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  unresolved: number;
  /** Records whose request id was already counted (a redelivery). */
  duplicates: number;
}

/** Every shape of fixture-format.md, reduced to what resolution and the graph need. */
export interface NormalizedRecord {
  /** Epoch ms; undefined when the record carried no time (then arrival time is used). */
  timeMs?: number;
  /** `x-meshscope-source` or the native `source`: a workload, a service or an Istio node id. */
  source?: string;
  /** The caller's IP (port stripped). */
  sourceAddress?: string;
  /** `POD.NS` from the shipper's Kubernetes metadata. */
  pod?: string;
  /** An Istio inbound log (`inbound|...` cluster): the shipper's pod is the callee, not the caller. */
  inbound: boolean;
  authority?: string;
  /** Host and port of an `outbound|PORT|SUBSET|HOST` cluster. */
  clusterHost?: string;
  clusterPort?: number;
  /** TLS server name the caller asked for (an external HTTPS host through a passthrough cluster). */
  sni?: string;
  /** The upstream endpoint's IP (port stripped). */
  upstreamHost?: string;
  protocol: string;
  /** Response code; 0 when absent (TCP, reset before response). */
  code: number;
  /** Duration in ms; -1 when absent. */
  durationMs: number;
  requestId?: string;
}

/** The first `max` rejections of an ingest call, for a transport that answers its sender (HTTP). */
export interface RejectionLog {
  max: number;
  entries: Array<{ ref: string; reason: string; detail: string }>;
}

export interface Rejection {
  reason: RejectReason | string;
  detail: string;
}

/** Why a record was unusable. Transports may add their own reason text. */
export type RejectReason =
  | 'not-json'
  | 'not-object'
  | 'too-large'
  | 'not-access-log'
  | 'wrong-type'
  | 'bad-time'
  | 'no-source'
  | 'no-destination';

export type UnresolvedKind = 'source' | 'destination';

/** A service-level dependency as the scopes see it. */
export interface Dependency {
  source: ServiceId;
  dest: ServiceId;
}
