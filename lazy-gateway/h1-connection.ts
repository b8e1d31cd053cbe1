// One caller's HTTP/1.1 connection: reads requests one at a time (pipelined
// ones wait their turn), hands each to the proxy as an H1Downstream, and
// batches what the responses write into one socket write per tick. Node's
// http.Server did this before; owning it took a fifth of the gateway's CPU
// per request away (bench/gateway-http.ts) and lets the parser be strict.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { H1Downstream, reasonPhrase } from './downstream-h1.ts';
import { RequestError, RequestParser, type ParsedRequest, type RequestEvents } from './h1-request.ts';
import { replyBody, type Downstream } from './downstream.ts';
import { ERROR_HEADER } from './headers.ts';

export interface H1Host {
  readonly draining: boolean;
  handle(ds: Downstream): void;
  forget(conn: H1Connection): void;
}

export interface H1ConnectionOptions {
  maxHeaderBytes: number;
  /**
   * A connection waiting this long on its caller is closed: for (the rest of)
   * a request head, for more of a request body, or to read what was sent to it.
   */
  idleTimeoutMs: number;
}

/** Output up to this size is copied into one buffer; larger output is corked instead. */
const COALESCE_BYTES = 16 * 1024;
/** After the gateway ends a connection, how long the caller gets to close its side. */
const LINGER_MS = 5_000;
/** A request body answered before it fully arrived is read and dropped up to this size, so the connection stays usable. */
const DISCARD_BYTES = 64 * 1024;

const kConn = Symbol('h1-connection');
type Tagged = Socket & { [kConn]?: H1Connection };

function onData(this: Tagged, chunk: Buffer): void {
  this[kConn]!.onData(chunk);
}
function onClose(this: Tagged): void {
  this[kConn]!.onClose();
}
function onEnd(this: Tagged): void {
  this[kConn]!.onEnd();
}
function onDrain(this: Tagged): void {
  this[kConn]!.onDrain();
}
function flushLater(conn: H1Connection): void {
  conn.flush();
}
function advanceLater(conn: H1Connection): void {
  conn.advance();
}
function noop(): void {}

/** A request body as a stream; reading it is what lets the connection read on. */
export class RequestBody extends Readable {
  trailers: string[] | null = null;

  constructor(private readonly conn: H1Connection) {
    super({ highWaterMark: 64 * 1024 });
    // Errors reach consumers that listen; unheard ones must not end the process.
    this.on('error', noop);
  }

  override _read(): void {
    this.conn.readOn();
  }
}

export class H1Connection implements RequestEvents {
  private readonly parser: RequestParser;
  private exchange: H1Downstream | null = null;
  private upload: RequestBody | null = null;
  private requestDone = false;
  /** An Expect: 100-continue not answered yet: the interim response goes out when the body is first read. */
  private continuePending = false;
  private parsing = false;
  private closing = false;
  private advanceQueued = false;
  /** The next request waits until the caller reads what is queued for it. */
  private advanceOnDrain = false;
  /** Waiting on the caller to send (head or body bytes): when to give up (ms since epoch), 0 when not waiting. */
  private readDeadline: number;
  /** Waiting on the caller to read what the socket holds. */
  private writeDeadline = 0;
  /** Closing: how long the caller gets to close its side. */
  private lingerDeadline = 0;
  private out: Array<string | Buffer> = [];
  private outBytes = 0;
  private flushQueued = false;
  readonly remoteAddress: string;

  constructor(
    readonly socket: Socket,
    readonly host: H1Host,
    private readonly options: H1ConnectionOptions,
    first: Buffer,
  ) {
    this.parser = new RequestParser(this, options.maxHeaderBytes);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.readDeadline = Date.now() + options.idleTimeoutMs;
    (socket as Tagged)[kConn] = this;
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('end', onEnd);
    socket.on('drain', onDrain);
    this.parser.next();
    this.onData(first);
  }

  get idleSeconds(): number {
    return Math.floor(this.options.idleTimeoutMs / 1000);
  }

  /** When the sweep closes this connection (ms since epoch): the nearest wait on the caller; 0 when there is none. */
  get deadline(): number {
    let d = 0;
    for (const t of [this.readDeadline, this.writeDeadline, this.lingerDeadline]) if (t !== 0 && (d === 0 || t < d)) d = t;
    return d;
  }

  /** Shutdown: closes the connection now if it serves nothing, or after the answer that is already complete. */
  closeIfIdle(): void {
    if (this.exchange === null) this.destroy();
    else if (this.exchange.finished) this.end();
  }

  /**
   * Whether the connection can serve another request after the current
   * response, judged when that response starts: the request must be complete,
   * or small enough to read and drop, and not waiting for a 100 it never got.
   */
  get reusable(): boolean {
    if (this.requestDone) return true;
    if (this.continuePending) return false;
    const left = this.parser.bodyRemaining;
    return left >= 0 && left <= DISCARD_BYTES;
  }

  onData(chunk: Buffer): void {
    if (this.closing) return;
    this.parse(chunk);
    this.advance();
  }

  onClose(): void {
    this.closing = true;
    this.host.forget(this);
    const ex = this.exchange;
    if (this.upload && !this.requestDone) this.upload.destroy(Object.assign(new Error('caller closed the connection mid-request'), { code: 'ECONNRESET' }));
    if (ex && !ex.finished) ex.callerGone();
  }

  onEnd(): void {
    if (this.exchange !== null && !this.exchange.finished) {
      // A caller that closes while its request is served has gone away, as Node's
      // http server and nginx see it: the upstream request is cancelled.
      this.destroy();
      return;
    }
    this.end();
  }

  onDrain(): void {
    this.writeDeadline = 0;
    this.exchange?.drained();
    if (this.advanceOnDrain) {
      this.advanceOnDrain = false;
      this.advance();
    }
  }

  /** Called when the current request's body consumer wants more: from here on the wait is on the caller again. */
  readOn(): void {
    if (this.closing) return;
    if (!this.requestDone) this.readDeadline = Date.now() + this.options.idleTimeoutMs;
    if (this.continuePending) {
      this.continuePending = false;
      this.send('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.socket.resume();
  }

  /**
   * The current response is complete. The next request starts on the next
   * tick: the proxy finishes this one (its record, its in-flight count, its
   * upstream connection back in the pool) when this call returns.
   */
  responseDone(): void {
    if (this.advanceQueued) return;
    this.advanceQueued = true;
    process.nextTick(advanceLater, this);
  }

  // RequestEvents

  head(request: ParsedRequest): void {
    this.requestDone = false;
    const hasBody = request.chunked || request.contentLength > 0;
    // A body that stops arriving is timed like an idle connection; a request without one waits on the proxy.
    this.readDeadline = hasBody ? Date.now() + this.options.idleTimeoutMs : 0;
    this.continuePending = hasBody && request.expectContinue && !request.http10;
    this.upload = hasBody ? new RequestBody(this) : null;
    const ds = new H1Downstream(this, request, this.upload);
    this.exchange = ds;
    this.host.handle(ds);
  }

  body(chunk: Buffer): boolean {
    // A body nobody reads any more (answered early) is dropped.
    const more = this.upload === null || this.exchange?.finished === true ? true : this.upload.push(chunk);
    // A full upload buffer waits on the upstream, not on the caller: no clock until readOn().
    this.readDeadline = more ? Date.now() + this.options.idleTimeoutMs : 0;
    return more;
  }

  done(trailers: string[] | null): void {
    this.requestDone = true;
    this.readDeadline = 0;
    if (this.upload) {
      this.upload.trailers = trailers;
      this.upload.push(null);
    }
  }

  // Reading

  private parse(chunk: Buffer | null): void {
    this.parsing = true;
    let flowing: boolean;
    try {
      flowing = chunk === null ? this.parser.next() : this.parser.feed(chunk);
    } catch (err) {
      this.parsing = false;
      this.badInput(err as Error);
      return;
    }
    this.parsing = false;
    if (!flowing && !this.closing) this.socket.pause();
  }

  /** Moves on once an exchange is complete: to the next request, or to closing. */
  advance(): void {
    this.advanceQueued = false;
    while (!this.parsing && !this.closing) {
      const ex = this.exchange;
      if (ex === null) {
        this.socket.resume();
        return;
      }
      if (!ex.finished) return;
      if (!ex.keepAlive || this.host.draining) {
        this.end();
        return;
      }
      if (!this.requestDone) {
        // Answered early: the rest of a small body is read and dropped first, whoever paused the socket.
        this.readDeadline = Date.now() + this.options.idleTimeoutMs;
        this.socket.resume();
        return;
      }
      if (this.socket.writableNeedDrain) {
        // A caller that pipelines and does not read gets nothing more answered until it does.
        this.advanceOnDrain = true;
        this.socket.pause();
        return;
      }
      this.exchange = null;
      this.upload = null;
      this.readDeadline = Date.now() + this.options.idleTimeoutMs;
      this.parse(null);
    }
  }

  private badInput(err: Error): void {
    if (this.exchange === null && err instanceof RequestError) {
      const body = replyBody(err.message);
      this.send(
        `HTTP/1.1 ${err.status} ${reasonPhrase(err.status)}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n${ERROR_HEADER}: ${err.reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      this.send(Buffer.from(body));
      this.end();
      return;
    }
    // Broken framing inside a body: an answer already given still goes out; otherwise the exchange is reset.
    this.upload?.destroy(err);
    if (this.exchange?.finished) this.end();
    else this.destroy();
  }

  /** Ends the connection after what is queued; the caller gets a while to close its side. */
  private end(): void {
    if (this.closing) return;
    this.closing = true;
    this.parser.discard();
    this.flush();
    this.readDeadline = 0;
    // The answer may still be on its way to a slow reader: it gets the idle timeout, then the linger.
    this.lingerDeadline = Date.now() + Math.max(this.options.idleTimeoutMs, LINGER_MS);
    this.socket.end(() => {
      this.lingerDeadline = Date.now() + LINGER_MS;
    });
    // Keep reading so unread input does not turn the close into a reset that loses the answer.
    this.socket.resume();
  }

  /** Closes the connection at once (an aborted exchange, shutdown, sweep); nothing more is parsed. */
  destroy(): void {
    this.closing = true;
    this.parser.discard();
    this.socket.destroy();
  }

  // Writing

  /** Queues output for this tick's write; returns false when the caller is not keeping up ('drain' follows). */
  send(piece: string | Buffer): boolean {
    this.out.push(piece);
    this.outBytes += piece.length;
    if (this.outBytes >= COALESCE_BYTES) return this.flush();
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(flushLater, this);
    }
    return this.writable();
  }

  /** False while the caller is not reading what it was sent; from then on its clock runs. */
  private writable(): boolean {
    if (!this.socket.writableNeedDrain) return true;
    if (this.writeDeadline === 0) this.writeDeadline = Date.now() + this.options.idleTimeoutMs;
    return false;
  }

  flush(): boolean {
    this.flushQueued = false;
    const out = this.out;
    const socket = this.socket;
    if (out.length === 0) return this.writable();
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    if (socket.destroyed) return true;
    if (out.length === 1) {
      const piece = out[0];
      if (typeof piece === 'string') socket.write(piece, 'latin1');
      else socket.write(piece);
    } else if (bytes > COALESCE_BYTES) {
      socket.cork();
      for (const piece of out) {
        if (typeof piece === 'string') socket.write(piece, 'latin1');
        else socket.write(piece);
      }
      socket.uncork();
    } else {
      const buf = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const piece of out) at += typeof piece === 'string' ? buf.write(piece, at, 'latin1') : piece.copy(buf, at);
      socket.write(buf);
    }
    return this.writable();
  }
}
