// The native access-log record (shape 1 of docs/fixture-format.md).
// The gateway emits it, the xDS server emits it for proxyless subscriptions,
// and the analyzer normalizes every other shape into it.

export interface AccessLogRecord {
  /** ISO 8601 time the request started. */
  time: string;
  /** The caller: a workload `POD.NS` or a service `SVC.NS`. */
  source?: string;
  /** The caller's pod IP, when `source` is not known. */
  sourceAddress?: string;
  /** The destination as the caller spelled it: `host[:port]`. */
  authority?: string;
  /** Envoy's `outbound|PORT||FQDN` cluster, when the record came through one. */
  upstreamCluster?: string;
  protocol?: string;
  code?: number;
  durationMs?: number;
  /** `x-request-id`: lets consumers count a redelivered record once. */
  requestId?: string;
  method?: string;
  path?: string;
  bytesReceived?: number;
  bytesSent?: number;
  /** Who produced the record: `gateway`, `xds` (a proxyless subscription), `envoy`, ... */
  reporter?: string;
}

/** Where producers hand records; implementations batch, retry or call in-process. */
export interface AccessLogSink {
  send(records: readonly AccessLogRecord[]): Promise<void>;
}

export const DEFAULT_ACCESS_LOG_TOPIC = 'meshscope.access-logs';
