// The gateway's counters, rendered as Prometheus text on the admin port.
// Labels are services (not pods, not raw authorities) so cardinality stays bounded.

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ReportStats {
  depth: number;
  capacity: number;
  dropped: number;
  sent: number;
  failures: number;
}

class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** Dead-upstream defences, read at scrape time. */
export interface UpstreamHealthStats {
  connectTimeouts: number;
  /** Requests refused because an endpoint's connections and queue were full. */
  overflows: number;
  /** Requests waiting for a connection to an endpoint now. */
  queued: number;
  ejections: number;
  readmissions: number;
  ejectionsSkipped: number;
  /** Endpoints out of rotation now. */
  ejected: number;
}

/** One (source, destination, code) series; found through nested maps so counting builds no key string. */
interface RequestSeries {
  readonly source: string;
  readonly destination: string;
  readonly code: number;
  n: number;
}

export class Metrics {
  private readonly series = new Map<string, Map<string, Map<number, RequestSeries>>>();
  /** Every series, in creation order, for rendering. */
  private readonly requests: RequestSeries[] = [];
  private readonly hits = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly ignoredIdentity = new Map<string, number>();
  bytesReceived = 0;
  bytesSent = 0;
  inflight = 0;
  retries = 0;
  reportStats: () => ReportStats = () => ({ depth: 0, capacity: 0, dropped: 0, sent: 0, failures: 0 });
  upstreamStats: () => UpstreamHealthStats = () => ({ connectTimeouts: 0, overflows: 0, queued: 0, ejections: 0, readmissions: 0, ejectionsSkipped: 0, ejected: 0 });

  request(source: string, destination: string, code: number, identifiedBy: string, bytesIn: number, bytesOut: number): void {
    let byDestination = this.series.get(source);
    if (!byDestination) this.series.set(source, (byDestination = new Map()));
    let byCode = byDestination.get(destination);
    if (!byCode) byDestination.set(destination, (byCode = new Map()));
    let s = byCode.get(code);
    if (!s) {
      byCode.set(code, (s = { source, destination, code, n: 0 }));
      this.requests.push(s);
    }
    s.n++;
    this.hits.set(identifiedBy, (this.hits.get(identifiedBy) ?? 0) + 1);
    this.bytesReceived += bytesIn;
    this.bytesSent += bytesOut;
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  /** An identity header from a peer that is neither a workload nor a trusted proxy: not believed. */
  identityIgnored(header: string): void {
    this.ignoredIdentity.set(header, (this.ignoredIdentity.get(header) ?? 0) + 1);
  }

  identityIgnoredCount(header: string): number {
    return this.ignoredIdentity.get(header) ?? 0;
  }

  upstreamLatency(protocol: string, seconds: number): void {
    let h = this.latency.get(protocol);
    if (!h) this.latency.set(protocol, (h = new Histogram()));
    h.observe(seconds);
  }

  /** Requests counted so far, optionally only those matching the given labels. */
  requestCount(filter: { source?: string; destination?: string; code?: number } = {}): number {
    let n = 0;
    for (const s of this.requests) {
      if (filter.source !== undefined && s.source !== filter.source) continue;
      if (filter.destination !== undefined && s.destination !== filter.destination) continue;
      if (filter.code !== undefined && s.code !== filter.code) continue;
      n += s.n;
    }
    return n;
  }

  rejectedCount(reason: string): number {
    return this.rejected.get(reason) ?? 0;
  }

  render(): string {
    const out: string[] = [];
    const counter = (name: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    counter('meshscope_gateway_requests_total', 'Requests handled, by caller service, destination service and response code.');
    for (const s of this.requests) {
      out.push(`meshscope_gateway_requests_total{source="${esc(s.source)}",destination="${esc(s.destination)}",code="${s.code}"} ${s.n}`);
    }
    counter('meshscope_gateway_fallback_hits_total', 'Requests that reached the fallback, by how the caller was identified.');
    for (const [by, v] of this.hits) out.push(`meshscope_gateway_fallback_hits_total{identified_by="${esc(by)}"} ${v}`);
    counter('meshscope_gateway_rejected_total', 'Requests refused without forwarding, by reason.');
    for (const [reason, v] of this.rejected) out.push(`meshscope_gateway_rejected_total{reason="${esc(reason)}"} ${v}`);
    counter('meshscope_gateway_identity_headers_ignored_total', 'Identity headers not believed: the peer was neither an inventory workload nor a trusted proxy.');
    for (const [header, v] of this.ignoredIdentity) out.push(`meshscope_gateway_identity_headers_ignored_total{header="${esc(header)}"} ${v}`);
    counter('meshscope_gateway_retries_total', 'Requests retried on another endpoint after a connection failure.');
    out.push(`meshscope_gateway_retries_total ${this.retries}`);
    counter('meshscope_gateway_received_bytes_total', 'Request body bytes received from callers.');
    out.push(`meshscope_gateway_received_bytes_total ${this.bytesReceived}`);
    counter('meshscope_gateway_sent_bytes_total', 'Response body bytes sent to callers.');
    out.push(`meshscope_gateway_sent_bytes_total ${this.bytesSent}`);
    out.push('# HELP meshscope_gateway_inflight_requests Requests being forwarded now.', '# TYPE meshscope_gateway_inflight_requests gauge');
    out.push(`meshscope_gateway_inflight_requests ${this.inflight}`);
    const r = this.reportStats();
    out.push('# HELP meshscope_gateway_report_queue_depth Access-log records waiting for the sink.', '# TYPE meshscope_gateway_report_queue_depth gauge');
    out.push(`meshscope_gateway_report_queue_depth ${r.depth}`);
    out.push('# HELP meshscope_gateway_report_queue_capacity Records the report buffer holds before it drops.', '# TYPE meshscope_gateway_report_queue_capacity gauge');
    out.push(`meshscope_gateway_report_queue_capacity ${r.capacity}`);
    counter('meshscope_gateway_report_dropped_total', 'Access-log records dropped because the report buffer was full.');
    out.push(`meshscope_gateway_report_dropped_total ${r.dropped}`);
    counter('meshscope_gateway_report_sent_total', 'Access-log records the sink accepted.');
    out.push(`meshscope_gateway_report_sent_total ${r.sent}`);
    counter('meshscope_gateway_report_failures_total', 'Sink sends that failed and will be retried.');
    out.push(`meshscope_gateway_report_failures_total ${r.failures}`);
    const u = this.upstreamStats();
    const one = (name: string, type: 'counter' | 'gauge', help: string, value: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    one('meshscope_gateway_upstream_connect_timeouts_total', 'counter', 'Upstream connections not established within the connect timeout (retried like refused ones).', u.connectTimeouts);
    one('meshscope_gateway_upstream_overflow_total', 'counter', 'Requests refused (503) because an endpoint had its maximum connections busy and its queue full.', u.overflows);
    one('meshscope_gateway_upstream_queued_requests', 'gauge', 'Requests waiting for a connection to a busy endpoint.', u.queued);
    one('meshscope_gateway_outlier_ejections_total', 'counter', 'Endpoints taken out of rotation after consecutive failures.', u.ejections);
    one('meshscope_gateway_outlier_readmissions_total', 'counter', 'Ejected endpoints put back in rotation when their ejection ran out.', u.readmissions);
    one('meshscope_gateway_outlier_ejections_skipped_total', 'counter', 'Ejections not made because the route had its maximum share of endpoints out.', u.ejectionsSkipped);
    one('meshscope_gateway_outlier_ejected_endpoints', 'gauge', 'Endpoints out of rotation now.', u.ejected);
    out.push('# HELP meshscope_gateway_upstream_latency_seconds Time from forwarding to the upstream response head.');
    out.push('# TYPE meshscope_gateway_upstream_latency_seconds histogram');
    for (const [protocol, h] of this.latency) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i];
        out.push(`meshscope_gateway_upstream_latency_seconds_bucket{protocol="${protocol}",le="${le}"} ${cumulative}`);
      });
      out.push(`meshscope_gateway_upstream_latency_seconds_bucket{protocol="${protocol}",le="+Inf"} ${h.count}`);
      out.push(`meshscope_gateway_upstream_latency_seconds_sum{protocol="${protocol}"} ${h.sum}`);
      out.push(`meshscope_gateway_upstream_latency_seconds_count{protocol="${protocol}"} ${h.count}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
