// The proxy core: one Call per request — identify the caller, route, forward
// (retrying once on a connection failure), time out, report.
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Inventory } from '../contracts/inventory/index.ts';
import type { AccessLogRecord } from '../contracts/access-log.ts';
import { Authorizer, refusal } from './authz.ts';
import { Callers, type Caller } from './caller.ts';
import { isGrpc, type Downstream, type DownstreamObserver } from './downstream.ts';
import { toH2Object } from './headers.ts';
import { isoTime } from './iso-time.ts';
import type { Metrics } from './metrics.ts';
import type { Reporter } from './reporter.ts';
import { Rejection, Route, Router, type Endpoint } from './route.ts';
import type { H1Upstream } from './upstream-h1.ts';
import type { H2Upstream } from './upstream-h2.ts';
import type { OutlierDetector } from './outlier.ts';
import { failedBeforeResponse, isConnectFailure, UnsendableRequest, UpstreamOverflow, type UpstreamReceiver } from './upstream.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export interface ProxyLimits {
  /** Route timeout: the whole response must be done by then; 0 disables. */
  timeoutMs: number;
  /** Largest request body forwarded (gRPC streams are exempt: they bound their own messages). */
  maxRequestBodyBytes: number;
  /** Requests forwarded at once; more are answered 503 overloaded. */
  maxInflight: number;
}

export class Proxy {
  readonly router: Router;
  readonly authz = new Authorizer();

  constructor(
    readonly inventory: () => Inventory,
    readonly callers: Callers,
    readonly h1: H1Upstream,
    readonly h2: H2Upstream,
    readonly outliers: OutlierDetector,
    readonly reporter: Reporter,
    readonly metrics: Metrics,
    readonly limits: ProxyLimits,
  ) {
    this.router = new Router(outliers);
  }

  handle(ds: Downstream): void {
    new Call(this, ds).start();
  }
}

class Call implements UpstreamReceiver, DownstreamObserver {
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private upstreamT0 = 0;
  private caller!: Readonly<Caller>;
  private route: Route | undefined;
  private endpoint: Endpoint | undefined;
  private requestId = '';
  private attempt = 0;
  private status = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private finished = false;
  /** Set once the gateway ends the exchange itself; upstream errors that follow are its echo. */
  private stopping = false;
  private counted = false;
  private timer: NodeJS.Timeout | undefined;
  private cancel: (() => void) | null = null;
  private resume: (() => void) | null = null;

  constructor(
    private readonly proxy: Proxy,
    private readonly ds: Downstream,
  ) {}

  start(): void {
    const { ds, proxy } = this;
    const head = ds.head;
    const inventory = proxy.inventory();
    const caller = (this.caller = proxy.callers.identify(inventory, head, ds.remoteAddress));
    this.requestId = head.requestId || randomUUID();
    ds.observe(this);
    if (caller.refusal) return this.rejectWith(caller.refusal.status, caller.refusal.reason, caller.refusal.message);
    const result = proxy.router.resolve(inventory, head.method, head.authority, this.caller.namespace, head.absoluteForm);
    if (result instanceof Rejection) return this.rejectWith(result.status, result.reason, result.message);
    this.route = result;
    // The destination's AuthorizationPolicies decide a first call as they would the direct one.
    const refused = refusal(proxy.authz, inventory, this.caller.id, result, head, ds.remoteAddress);
    if (refused) return this.rejectWith(403, 'authz-denied', refused);
    if (proxy.metrics.inflight >= proxy.limits.maxInflight) {
      return this.rejectWith(503, 'overloaded', `${proxy.limits.maxInflight} requests in flight; retry later`);
    }
    if (head.contentLength > proxy.limits.maxRequestBodyBytes) {
      return this.rejectWith(413, 'request-too-large', `request body of ${head.contentLength} bytes exceeds the limit of ${proxy.limits.maxRequestBodyBytes}`);
    }
    proxy.metrics.inflight++;
    this.counted = true;
    const timeoutMs = head.timeoutMs >= 0 ? head.timeoutMs : proxy.limits.timeoutMs;
    if (timeoutMs > 0) this.timer = setTimeout(onTimeout, timeoutMs, this);
    this.forward();
  }

  private forward(): void {
    const route = this.route!;
    const endpoint = (this.endpoint = route.pick());
    const head = this.ds.head;
    const xff = head.forwardedFor ? `${head.forwardedFor}, ${clientIp(this.ds.remoteAddress)}` : clientIp(this.ds.remoteAddress);
    this.upstreamT0 = performance.now();
    const protocol = route.protocol === 'tcp' ? (this.ds.protocol === 'http2' ? 'http2' : 'http') : route.protocol;
    if (protocol === 'http') {
      // Added next to the caller's headers, not into a copy of them.
      const added = head.requestId ? ['host', head.authority, 'x-forwarded-for', xff] : ['host', head.authority, 'x-forwarded-for', xff, 'x-request-id', this.requestId];
      this.proxy.h1.forward(endpoint, head.method, head.path, head.headers, added, this.ds.body(), this);
    } else {
      const headers: OutgoingHttpHeaders = {
        ':method': head.method,
        ':path': head.path,
        ':scheme': 'http',
        ':authority': head.authority,
      };
      toH2Object(head.headers, headers as Record<string, string>);
      headers['x-forwarded-for'] = xff;
      if (!head.requestId) headers['x-request-id'] = this.requestId;
      if (head.teTrailers || isGrpc(head.contentType)) headers.te = 'trailers';
      this.proxy.h2.forward(endpoint, headers, this.ds.body(), this);
    }
  }

  // UpstreamReceiver

  setCancel(cancel: (() => void) | null): void {
    this.cancel = cancel;
  }

  setResume(resume: (() => void) | null): void {
    this.resume = resume;
  }

  headers(status: number, headers: string[], endStream: boolean, trailers: boolean): void {
    if (this.finished) return;
    this.status = status;
    const outliers = this.proxy.outliers;
    if (status >= 500) outliers.failed(this.endpoint!.health, this.route!.endpoints);
    else outliers.succeeded(this.endpoint!.health);
    this.proxy.metrics.upstreamLatency(this.route!.protocol, (performance.now() - this.upstreamT0) / 1000);
    this.ds.respond(status, headers, endStream, trailers);
    if (endStream) this.finish();
  }

  data(chunk: Buffer): boolean {
    if (this.finished) return true;
    this.bytesOut += chunk.length;
    if (this.ds.write(chunk)) return true;
    if (this.resume) this.ds.onDrain(this.resume);
    return false;
  }

  end(trailers: string[] | null): void {
    if (this.finished) return;
    this.ds.end(trailers);
    this.finish();
  }

  error(err: Error): void {
    if (this.finished || this.stopping) return;
    this.cancel = null;
    if (this.ds.responded) {
      this.ds.abort();
      return this.finish();
    }
    if (err instanceof UnsendableRequest) return this.rejectWith(400, 'bad-request', `cannot forward to ${this.route!.service.id} over HTTP/1.1: ${err.message}`);
    const where = `${this.route!.service.id} endpoint ${this.endpoint!.key}`;
    if (err instanceof UpstreamOverflow) return this.rejectWith(503, 'upstream-overflow', `${where} is at its connection limit: ${err.message}`);
    const connectFailed = isConnectFailure(err);
    const protocolError = (err as Error & { code?: string }).code === 'ERR_UPSTREAM_PROTOCOL';
    this.proxy.outliers.failed(this.endpoint!.health, this.route!.endpoints);
    // A connection that never opened carried nothing: any bodiless request goes to the next endpoint.
    if (this.attempt === 0 && !this.ds.hasBody && (connectFailed || (IDEMPOTENT.has(this.ds.head.method) && failedBeforeResponse(err)))) {
      this.attempt++;
      this.proxy.metrics.retries++;
      return this.forward();
    }
    if (connectFailed) this.rejectWith(503, 'upstream-connect-failed', `cannot connect to ${where}: ${err.message}`);
    else if (protocolError) this.rejectWith(502, 'upstream-protocol-error', `${where} broke HTTP/1.1: ${err.message}`);
    else this.rejectWith(502, 'upstream-reset', `${where} failed before answering: ${err.message}`);
  }

  bodySent(bytes: number): void {
    this.bytesIn += bytes;
    if (this.bytesIn > this.proxy.limits.maxRequestBodyBytes && !this.finished && !isGrpc(this.ds.head.contentType)) {
      this.stop(413, 'request-too-large', `request body exceeds the limit of ${this.proxy.limits.maxRequestBodyBytes} bytes`);
    }
  }

  requestTrailers(): string[] | null {
    return this.ds.trailers();
  }

  // DownstreamObserver

  downstreamClosed(): void {
    if (this.finished) return;
    this.stopping = true;
    this.cancelUpstream();
    if (!this.status) this.status = 499;
    this.finish();
  }

  timedOut(): void {
    if (this.finished) return;
    this.timer = undefined;
    const ms = this.ds.head.timeoutMs >= 0 ? this.ds.head.timeoutMs : this.proxy.limits.timeoutMs;
    this.stop(504, 'upstream-timeout', `${this.route!.service.id} did not answer within ${ms} ms`);
  }

  /** Ends the exchange on the gateway's initiative: cancels the upstream, then tells the caller why. */
  private stop(status: number, reason: string, message: string): void {
    this.stopping = true;
    this.cancelUpstream();
    if (this.ds.responded) {
      this.ds.abort();
      this.finish();
    } else {
      this.rejectWith(status, reason, message);
    }
  }

  private cancelUpstream(): void {
    const cancel = this.cancel;
    this.cancel = null;
    if (cancel) cancel();
  }

  private rejectWith(status: number, reason: string, message: string): void {
    this.status = status;
    this.proxy.metrics.reject(reason);
    this.ds.reject(status, reason, message);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.cancel = null;
    this.resume = null;
    const { proxy, ds, route, caller } = this;
    if (this.counted) proxy.metrics.inflight--;
    const head = ds.head;
    const q = head.path.indexOf('?');
    const record: AccessLogRecord = {
      time: isoTime(this.startedAt),
      authority: head.authority,
      protocol: isGrpc(head.contentType) ? 'grpc' : ds.protocol,
      code: this.status,
      durationMs: Math.round((performance.now() - this.t0) * 1000) / 1000,
      requestId: this.requestId,
      method: head.method,
      path: q === -1 ? head.path : head.path.slice(0, q),
      bytesReceived: this.bytesIn,
      bytesSent: this.bytesOut,
      reporter: 'gateway',
    };
    if (caller.id) record.source = caller.id;
    else record.sourceAddress = clientIp(ds.remoteAddress);
    if (route) record.upstreamCluster = route.cluster;
    proxy.reporter.push(record);
    proxy.metrics.request(caller.service || 'unknown', route ? route.service.id : 'unresolved', this.status, caller.by, this.bytesIn, this.bytesOut);
  }
}

function onTimeout(call: Call): void {
  call.timedOut();
}

function clientIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
