// HTTP/1.1 upstreams: per endpoint, a pool of keep-alive connections that
// carry one request at a time. Requests go out as one write; responses are
// parsed incrementally (h1-response.ts) and streamed to the caller. This lean
// client replaced undici on the hot path: it costs about half the CPU per
// request (see bench/gateway-http.ts).
import net from 'node:net';
import type { Readable } from 'node:stream';
import { ResponseParser, type ResponseEvents } from './h1-response.ts';
import type { Endpoint } from './route.ts';
import { connectTimeout, UnsendableRequest, UpstreamOverflow, type UpstreamReceiver, type UpstreamStats } from './upstream.ts';

const kConn = Symbol('conn');
type Tagged<T> = T & { [kConn]?: Conn };

/** An idle connection is not reused this close to the upstream's keep-alive timeout. */
const KEEPALIVE_MARGIN_MS = 1_000;
const DEFAULT_IDLE_MS = 4_000;
/** What may go out as a request line: a token method, and a target of visible ASCII (RFC 9112 §3). */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TARGET = /^(?:\/[\x21-\x7e]*|\*)$/;

/** Why `method path` cannot be written as an HTTP/1.1 request line, or undefined when it can. */
export function requestLineProblem(method: string, path: string): string | undefined {
  if (!METHOD.test(method)) return `method ${JSON.stringify(method.slice(0, 20))} is not an HTTP token`;
  if (!TARGET.test(path)) return `request target ${JSON.stringify(path.slice(0, 60))} is not origin-form of visible ASCII: percent-encode it`;
  return undefined;
}

function onSocketData(this: Tagged<net.Socket>, chunk: Buffer): void {
  this[kConn]!.onData(chunk);
}
function onSocketEnd(this: Tagged<net.Socket>): void {
  this[kConn]!.onEnd();
}
function onSocketError(this: Tagged<net.Socket>, err: Error): void {
  this[kConn]!.fail(err);
}
function onSocketClose(this: Tagged<net.Socket>): void {
  this[kConn]!.onClose();
}
function onSocketConnect(this: Tagged<net.Socket>): void {
  this[kConn]!.connected();
}
function onConnectTimeout(conn: Conn): void {
  conn.connectTimedOut();
}
function dispatchLater(pool: EndpointPool): void {
  pool.dispatch();
}
function onSocketDrain(this: Tagged<net.Socket>): void {
  this[kConn]!.upload?.resume();
}
function onBodyData(this: Tagged<Readable>, chunk: Buffer): void {
  this[kConn]?.sendBody(chunk);
}
function onBodyEnd(this: Tagged<Readable>): void {
  this[kConn]?.endBody();
}
function onBodyError(this: Tagged<Readable>): void {
  this[kConn]?.cancel();
}

/** Marks errors that happened before any response byte arrived: safe to retry an idempotent request. */
function beforeResponse(err: Error, before: boolean): Error {
  (err as Error & { beforeResponse?: boolean }).beforeResponse = before;
  return err;
}

class Conn implements ResponseEvents {
  readonly socket: Tagged<net.Socket>;
  private readonly parser: ResponseParser;
  private rx: UpstreamReceiver | null = null;
  upload: Tagged<Readable> | null = null;
  private chunked = false;
  private bodyDone = true;
  idleSince = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Bound once per connection, not per request. */
  readonly cancel = (): void => {
    this.rx = null;
    this.detachBody();
    this.socket.destroy();
  };
  private readonly resume = (): void => {
    this.socket.resume();
  };

  constructor(
    private readonly pool: EndpointPool,
    maxHeaderBytes: number,
  ) {
    this.parser = new ResponseParser(this, maxHeaderBytes);
    const e = pool.endpoint;
    this.socket = net.connect({ host: e.address, port: e.port, noDelay: true });
    this.socket[kConn] = this;
    // An endpoint that drops SYNs would otherwise hold the request for the kernel's minutes of retries.
    this.connectTimer = setTimeout(onConnectTimeout, pool.upstream.connectTimeoutMs, this);
    this.socket.once('connect', onSocketConnect);
    this.socket.on('data', onSocketData);
    this.socket.on('end', onSocketEnd);
    this.socket.on('error', onSocketError);
    this.socket.on('close', onSocketClose);
    this.socket.on('drain', onSocketDrain);
  }

  connected(): void {
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  connectTimedOut(): void {
    this.connectTimer = undefined;
    this.pool.upstream.stats.connectTimeouts++;
    this.socket.destroy(connectTimeout(this.pool.endpoint.key, this.pool.upstream.connectTimeoutMs));
  }

  get maxIdleMs(): number {
    return this.parser.keepAliveMs > 0 ? this.parser.keepAliveMs - KEEPALIVE_MARGIN_MS : DEFAULT_IDLE_MS;
  }

  start(method: string, path: string, headers: string[], added: string[], body: Readable | null, rx: UpstreamReceiver): void {
    this.rx = rx;
    this.parser.expect(method);
    rx.setCancel(this.cancel);
    rx.setResume(this.resume);
    let head = `${method} ${path} HTTP/1.1\r\n`;
    let length = false;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === 'content-length') length = true;
      head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    }
    for (let i = 0; i < added.length; i += 2) head += `${added[i]}: ${added[i + 1]}\r\n`;
    this.chunked = body !== null && !length;
    if (this.chunked) head += 'transfer-encoding: chunked\r\n';
    this.socket.write(`${head}\r\n`, 'latin1');
    if (!body) {
      this.bodyDone = true;
      return;
    }
    this.bodyDone = false;
    this.upload = body as Tagged<Readable>;
    this.upload[kConn] = this;
    body.on('data', onBodyData);
    body.on('end', onBodyEnd);
    body.on('error', onBodyError);
  }

  sendBody(chunk: Buffer): void {
    if (!this.rx || chunk.length === 0) return;
    this.rx.bodySent(chunk.length);
    if (!this.rx) return; // the limit check may have cancelled us
    let ok: boolean;
    if (this.chunked) {
      this.socket.cork();
      this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      this.socket.write(chunk);
      ok = this.socket.write('\r\n', 'latin1');
      this.socket.uncork();
    } else {
      ok = this.socket.write(chunk);
    }
    if (!ok) this.upload?.pause();
  }

  endBody(): void {
    if (this.chunked) {
      const trailers = this.rx?.requestTrailers();
      let last = '0\r\n';
      if (trailers) for (let i = 0; i < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.socket.write(`${last}\r\n`, 'latin1');
    }
    this.bodyDone = true;
    this.detachBody();
  }

  private detachBody(): void {
    const body = this.upload;
    if (!body) return;
    this.upload = null;
    body[kConn] = undefined;
    body.off('data', onBodyData);
    body.off('end', onBodyEnd);
    body.off('error', onBodyError);
  }

  // ResponseEvents

  head(status: number, headers: string[], trailers: boolean): void {
    this.rx?.headers(status, headers, false, trailers);
  }

  body(chunk: Buffer): boolean {
    return this.rx ? this.rx.data(chunk) : true;
  }

  done(trailers: string[] | null): void {
    const rx = this.rx;
    this.rx = null;
    rx?.setCancel(null);
    rx?.end(trailers);
    // A response that came before the whole request body went out ends the connection's use.
    if (this.bodyDone) {
      this.release();
    } else {
      this.detachBody();
      this.socket.destroy();
    }
  }

  private release(): void {
    if (this.parser.keepAlive && !this.socket.destroyed) {
      this.socket.resume();
      this.idleSince = Date.now();
      this.pool.idle.push(this);
      // A request waiting for a connection takes this one, once the response that freed it is fully done.
      if (this.pool.waiting.length > 0) process.nextTick(dispatchLater, this.pool);
    } else {
      this.socket.destroy();
    }
  }

  // Socket events

  onData(chunk: Buffer): void {
    if (!this.rx) {
      // Bytes nobody asked for: the upstream is out of step.
      this.socket.destroy();
      return;
    }
    let flowing: boolean;
    try {
      flowing = this.parser.feed(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (!flowing && this.rx) this.socket.pause();
  }

  onEnd(): void {
    if (this.rx && !this.parser.end()) {
      this.fail(Object.assign(new Error('upstream closed the connection before the response ended'), { code: 'ECONNRESET' }));
    }
    this.socket.destroy();
  }

  fail(err: Error): void {
    const rx = this.rx;
    this.rx = null;
    this.detachBody();
    this.socket.destroy();
    if (rx) {
      rx.setCancel(null);
      rx.error(beforeResponse(err, !this.parser.started));
    }
  }

  onClose(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.pool.forget(this);
    if (this.rx) this.fail(Object.assign(new Error('upstream connection closed'), { code: 'ECONNRESET' }));
  }
}

/** A request waiting for a connection to its endpoint. */
interface Waiting {
  method: string;
  path: string;
  headers: string[];
  added: string[];
  body: Readable | null;
  rx: UpstreamReceiver;
}

class EndpointPool {
  readonly idle: Conn[] = [];
  readonly all = new Set<Conn>();
  /** Requests waiting for a connection while the endpoint has its maximum open. */
  readonly waiting: Waiting[] = [];
  constructor(
    readonly endpoint: Endpoint,
    readonly upstream: H1Upstream,
  ) {}

  /** An idle connection fit for another request, or undefined. */
  takeIdle(now: number): Conn | undefined {
    let conn: Conn | undefined;
    while ((conn = this.idle.pop())) {
      if (now - conn.idleSince < conn.maxIdleMs && !conn.socket.destroyed) return conn;
      conn.socket.destroy();
    }
    return undefined;
  }

  /** An idle connection, or a new one while under the cap; undefined when the endpoint has its maximum open. */
  connection(now: number): Conn | undefined {
    const idle = this.takeIdle(now);
    if (idle) return idle;
    if (this.all.size >= this.upstream.maxConnections) return undefined;
    const conn = new Conn(this, this.upstream.maxResponseHeaderBytes);
    this.all.add(conn);
    return conn;
  }

  /** Starts waiting requests on connections that became free. */
  dispatch(): void {
    const now = Date.now();
    while (this.waiting.length > 0) {
      const conn = this.connection(now);
      if (!conn) return;
      const w = this.waiting.shift()!;
      conn.start(w.method, w.path, w.headers, w.added, w.body, w.rx);
    }
  }

  forget(conn: Conn): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    if (this.waiting.length > 0) process.nextTick(dispatchLater, this);
  }

  /** Closes idle connections the upstream is about to close itself. */
  sweep(now: number): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i];
      if (now - c.idleSince >= c.maxIdleMs) c.socket.destroy();
    }
  }

  closeAll(): void {
    for (const c of this.all) c.socket.destroy();
    // Never sent: as good as a refused connection, so an idempotent request is retried elsewhere.
    for (const w of this.waiting.splice(0)) {
      w.rx.setCancel(null);
      w.rx.error(Object.assign(new Error(`${this.endpoint.key} is gone (left the inventory, or the gateway is closing)`), { code: 'ECONNREFUSED' }));
    }
  }
}

export interface H1Options {
  maxResponseHeaderBytes: number;
  /** A connection not established by then fails as a connect failure (retryable). */
  connectTimeoutMs: number;
  /** Connections open to one endpoint at most; further requests wait. */
  maxConnectionsPerEndpoint: number;
  /** Requests waiting for a connection to one endpoint at most; further ones are refused (503). */
  maxPendingPerEndpoint: number;
}

export class H1Upstream {
  private readonly pools = new Map<string, EndpointPool>();
  private readonly sweeper: NodeJS.Timeout;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxResponseHeaderBytes: number;
  readonly stats: UpstreamStats = { connectTimeouts: 0, overflows: 0, queued: () => this.queued() };

  constructor(private readonly options: H1Options) {
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.maxConnections = options.maxConnectionsPerEndpoint;
    this.maxResponseHeaderBytes = options.maxResponseHeaderBytes;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const p of this.pools.values()) p.sweep(now);
    }, 500);
    this.sweeper.unref();
  }

  /** Sends `headers` (the caller's, end to end) and then `added` (the gateway's own) as one request head. */
  forward(endpoint: Endpoint, method: string, path: string, headers: string[], added: string[], body: Readable | null, rx: UpstreamReceiver): void {
    // HTTP/1.1 callers were held to this by their parser; HTTP/2 callers' pseudo-headers were not.
    const problem = requestLineProblem(method, path);
    if (problem) return rx.error(new UnsendableRequest(problem));
    let pool = this.pools.get(endpoint.key);
    if (!pool) this.pools.set(endpoint.key, (pool = new EndpointPool(endpoint, this)));
    const conn = pool.connection(Date.now());
    if (conn) return conn.start(method, path, headers, added, body, rx);
    if (pool.waiting.length >= this.options.maxPendingPerEndpoint) {
      this.stats.overflows++;
      const { maxConnectionsPerEndpoint, maxPendingPerEndpoint } = this.options;
      return rx.error(new UpstreamOverflow(`${endpoint.key} has ${maxConnectionsPerEndpoint} connections busy and ${maxPendingPerEndpoint} requests waiting`));
    }
    const waiting: Waiting = { method, path, headers, added, body, rx };
    const queue = pool.waiting;
    queue.push(waiting);
    rx.setCancel(() => {
      const i = queue.indexOf(waiting);
      if (i !== -1) queue.splice(i, 1);
    });
  }

  private queued(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.waiting.length;
    return n;
  }

  /** Closes connections to endpoints no longer in the inventory. */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      if (!keys.has(key)) {
        this.pools.delete(key);
        pool.closeAll();
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) pool.closeAll();
    this.pools.clear();
  }
}
