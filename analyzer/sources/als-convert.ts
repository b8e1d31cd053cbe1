// Turns Envoy gRPC access-log entries (envoy.data.accesslog.v3) into native
// records.
//
// Who called: the x-meshscope-source header when the proxy logged it, else
// the downstream peer's IP when it names a workload of the inventory, else —
// for an entry that went out through a cluster the xDS server names
// (`outbound|...` or the lazy gateway's) — the workload of the node that
// streams the log. The last rule is what keeps direct calls counted: a
// meshscope sidecar's egress listener is reached by its own application over
// loopback (no iptables), so the downstream address is 127.0.0.1 and names
// nobody, while the reporting node is exactly the caller. Those listeners log
// no request header (xds-server/resources/access-log.ts): on a direct route
// the header would be whatever the application sent.
//
// Calls the sidecar sent to the lazy gateway are skipped: the gateway reports
// each one itself. Both records carry the same x-request-id, but the core's
// dedupe key also holds the start time, which the two processes take a few
// milliseconds apart, so both would count. Only an entry whose response flags
// say the gateway was never reached (connection failure, no healthy or
// overflowing upstream) is kept: then Envoy's entry is the only record of the
// call. Next to Istio the gateway is a Service like any other: Istio's sidecars
// name its cluster `outbound|PORT||FQDN` (HTTP catch-all route or TCP
// passthrough to the Sidecar's egressProxy), so `gatewayClusters` takes its
// FQDNs; a TCP entry through it would otherwise read as an edge to the gateway.
import { SOURCE_HEADER, type AccessLogRecord, type Inventory } from '../../contracts/index.ts';
import { GATEWAY_CLUSTER } from '../../xds-server/index.ts';

type Obj = Record<string, any>;

const PROTOCOLS: Record<string, string> = { HTTP10: 'http', HTTP11: 'http', HTTP2: 'http2', HTTP3: 'http3' };
/** Response flags meaning the request never reached the upstream (here: the gateway). */
const NOT_REACHED = ['upstream_connection_failure', 'no_healthy_upstream', 'upstream_overflow'];

/** What the stream says about who reports its entries, resolved against the inventory. */
export interface ReportingNode {
  /** The reporting proxy's workload (`POD.NS`), when the inventory knows its node. */
  workload?: string;
  /** Whether an IP is a workload's address in the inventory. */
  isWorkloadAddress(ip: string): boolean;
}

const NOBODY: ReportingNode = { isWorkloadAddress: () => false };

/** Whether an upstream cluster is the lazy gateway. */
export type GatewayClusters = (cluster: string) => boolean;

/** meshscope's own xDS names the gateway GATEWAY_CLUSTER; Istio names it after the gateway's Service FQDNs given here. */
export function gatewayClusters(istioHosts: readonly string[] = []): GatewayClusters {
  const hosts = new Set(istioHosts.map((h) => h.toLowerCase()));
  return (cluster) =>
    cluster === GATEWAY_CLUSTER || (hosts.size > 0 && cluster.startsWith('outbound|') && hosts.has(cluster.slice(cluster.lastIndexOf('|') + 1).toLowerCase()));
}

const OWN_GATEWAY = gatewayClusters();

/** A call the sidecar handed to the gateway, which reports it itself (unless the gateway was never reached). */
function viaGateway(common: Obj, isGateway: GatewayClusters): boolean {
  const cluster = common.upstream_cluster;
  return typeof cluster === 'string' && isGateway(cluster) && !NOT_REACHED.some((f) => common.response_flags?.[f]);
}

/** The reporting node of a stream (its identifier's `node`, as decoded), in `inventory`'s terms. */
export function reportingNode(inventory: Inventory | undefined, node: Obj | undefined): ReportingNode {
  if (!inventory) return NOBODY;
  const id = typeof node?.id === 'string' ? node.id : '';
  const workload = id ? inventory.workloadForNode({ id, metadata: metadataStrings(node?.metadata) }) : undefined;
  return { workload: workload?.id, isWorkloadAddress: (ip) => inventory.workloadByAddress(ip) !== undefined };
}

/** The record of an HTTP entry, or undefined when the entry is skipped (a call the gateway reports). */
export function httpEntryToRecord(entry: Obj, node: ReportingNode = NOBODY, isGateway: GatewayClusters = OWN_GATEWAY): AccessLogRecord | undefined {
  const common: Obj = entry.common_properties ?? {};
  if (viaGateway(common, isGateway)) return undefined;
  const req: Obj = entry.request ?? {};
  const res: Obj = entry.response ?? {};
  const headers: Obj = req.request_headers ?? {};
  const rec = commonToRecord(common, node, isGateway);
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

// Istio attaches every ALS provider of a Telemetry resource to every listener, so the
// TCP logger also reports each HTTP request (Envoy marks those DownstreamEnd & co.);
// the HTTP logger already reports them, with the protocol: only TCP-proxy entries count.
const TCP_LOG_TYPES = new Set([undefined, 'NotSet', 'TcpUpstreamConnected', 'TcpPeriodic', 'TcpConnectionEnd']);

/** The record of a TCP entry, or undefined when the gateway reports the connection or it is an HTTP request's. */
export function tcpEntryToRecord(entry: Obj, node: ReportingNode = NOBODY, isGateway: GatewayClusters = OWN_GATEWAY): AccessLogRecord | undefined {
  const common: Obj = entry.common_properties ?? {};
  if (!TCP_LOG_TYPES.has(common.access_log_type) || viaGateway(common, isGateway)) return undefined;
  const rec = commonToRecord(common, node, isGateway);
  rec.protocol = 'tcp';
  const duration = durationMs(common.duration);
  if (duration !== undefined) rec.durationMs = duration;
  const conn: Obj = entry.connection_properties ?? {};
  if (conn.received_bytes !== undefined) rec.bytesReceived = conn.received_bytes;
  if (conn.sent_bytes !== undefined) rec.bytesSent = conn.sent_bytes;
  return rec;
}

function commonToRecord(common: Obj, node: ReportingNode, isGateway: GatewayClusters): AccessLogRecord {
  const rec: AccessLogRecord = { time: timestamp(common.start_time) ?? new Date().toISOString(), reporter: 'envoy' };
  const ip = common.downstream_remote_address?.socket_address?.address;
  if (typeof ip === 'string' && ip !== '') rec.sourceAddress = ip;
  const cluster = common.upstream_cluster;
  const gateway = typeof cluster === 'string' && isGateway(cluster);
  // The gateway's cluster names no destination (Istio's `outbound|80||<gateway>` would read as one): the authority does.
  if (cluster && !gateway) rec.upstreamCluster = cluster;
  const egress = gateway || (typeof cluster === 'string' && cluster.startsWith('outbound|'));
  // A header (set by the caller of httpEntryToRecord) still overrides this.
  if (egress && node.workload && !(rec.sourceAddress && node.isWorkloadAddress(rec.sourceAddress))) rec.source = node.workload;
  return rec;
}

/** NAME and NAMESPACE of a decoded google.protobuf.Struct (protobufjs keeps Value's fields camelCase). */
function metadataStrings(struct: Obj | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['NAME', 'NAMESPACE']) {
    const v = struct?.fields?.[key];
    const s = v?.stringValue ?? v?.string_value;
    if (typeof s === 'string') out[key] = s;
  }
  return out;
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
