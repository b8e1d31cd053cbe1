// Turns Envoy gRPC access-log entries (envoy.data.accesslog.v3) into native
// records. The source follows the fixture format: the x-meshscope-source
// header when the proxy logged it, else the downstream peer's IP. The node
// that streams the log is only the reporter.
import { SOURCE_HEADER, type AccessLogRecord } from '../../contracts/index.ts';

type Obj = Record<string, any>;

const PROTOCOLS: Record<string, string> = { HTTP10: 'http', HTTP11: 'http', HTTP2: 'http2', HTTP3: 'http3' };

export function httpEntryToRecord(entry: Obj): AccessLogRecord {
  const common: Obj = entry.common_properties ?? {};
  const req: Obj = entry.request ?? {};
  const res: Obj = entry.response ?? {};
  const headers: Obj = req.request_headers ?? {};
  const rec = commonToRecord(common);
  const source = headers[SOURCE_HEADER];
  if (typeof source === 'string' && source !== '') rec.source = source;
  if (req.authority) rec.authority = req.authority;
  const grpc = typeof headers['content-type'] === 'string' && headers['content-type'].startsWith('application/grpc');
  rec.protocol = grpc ? 'grpc' : PROTOCOLS[entry.protocol_version] ?? 'http';
  if (res.response_code?.value !== undefined) rec.code = res.response_code.value;
  const duration = durationMs(common.time_to_last_downstream_tx_byte) ?? durationMs(common.duration);
  if (duration !== undefined) rec.durationMs = duration;
  if (req.request_id) rec.requestId = req.request_id;
  if (req.request_method && req.request_method !== 'METHOD_UNSPECIFIED') rec.method = req.request_method;
  if (req.path) rec.path = req.path;
  if (req.request_body_bytes !== undefined) rec.bytesReceived = req.request_body_bytes;
  if (res.response_body_bytes !== undefined) rec.bytesSent = res.response_body_bytes;
  return rec;
}

export function tcpEntryToRecord(entry: Obj): AccessLogRecord {
  const common: Obj = entry.common_properties ?? {};
  const rec = commonToRecord(common);
  rec.protocol = 'tcp';
  const duration = durationMs(common.duration);
  if (duration !== undefined) rec.durationMs = duration;
  const conn: Obj = entry.connection_properties ?? {};
  if (conn.received_bytes !== undefined) rec.bytesReceived = conn.received_bytes;
  if (conn.sent_bytes !== undefined) rec.bytesSent = conn.sent_bytes;
  return rec;
}

function commonToRecord(common: Obj): AccessLogRecord {
  const rec: AccessLogRecord = { time: timestamp(common.start_time) ?? new Date().toISOString(), reporter: 'envoy' };
  const ip = common.downstream_remote_address?.socket_address?.address;
  if (typeof ip === 'string' && ip !== '') rec.sourceAddress = ip;
  if (common.upstream_cluster) rec.upstreamCluster = common.upstream_cluster;
  return rec;
}

function timestamp(ts: Obj | undefined): string | undefined {
  if (!ts) return undefined;
  const ms = Number(ts.seconds ?? 0) * 1000 + Math.floor(Number(ts.nanos ?? 0) / 1e6);
  return ms > 0 ? new Date(ms).toISOString() : undefined;
}

function durationMs(d: Obj | undefined): number | undefined {
  if (!d) return undefined;
  return Math.round((Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6) * 1000) / 1000;
}
