// One port for HTTP/1.1 and cleartext HTTP/2 with prior knowledge (what
// Envoy upstreams and gRPC speak). The first bytes of each connection decide:
// the HTTP/2 connection preface goes to Node's http2 server, anything else is
// an HTTP/1.1 connection of our own (h1-connection.ts).
import http2, { constants, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import net, { type Socket } from 'node:net';
import { H2Downstream } from './downstream-h2.ts';
import type { Downstream } from './downstream.ts';
import { H1Connection, type H1ConnectionOptions, type H1Host } from './h1-connection.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface ListenerOptions {
  maxHeaderBytes: number;
  maxConcurrentStreams: number;
  /** Idle keep-alive connections from callers close after this long (also the time a request head may take). */
  keepAliveTimeoutMs: number;
}

/** How often idle and lingering HTTP/1.1 connections are checked against their deadlines. */
const SWEEP_MS = 1_000;

function noop(): void {}

function onSilent(this: Socket): void {
  this.destroy();
}

export class Listener implements H1Host {
  private readonly server: net.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly h1 = new Set<H1Connection>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly h1Options: H1ConnectionOptions;
  private closing = false;

  constructor(
    options: ListenerOptions,
    readonly handle: (ds: Downstream) => void,
  ) {
    this.h1Options = { maxHeaderBytes: options.maxHeaderBytes, idleTimeoutMs: options.keepAliveTimeoutMs };
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    this.h2 = http2.createServer({
      settings: {
        maxConcurrentStreams: options.maxConcurrentStreams,
        maxHeaderListSize: options.maxHeaderBytes,
        initialWindowSize: 1 << 20,
      },
      maxHeaderListPairs: 512,
    });
    this.h2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('error', noop);
      session.once('close', () => this.sessions.delete(session));
      session.setLocalWindowSize(8 << 20);
      if (this.closing) session.close();
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      stream.on('error', noop);
      this.handle(new H2Downstream(stream, headers, (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0));
    });
    this.h2.on('sessionError', noop);
    // Half-open so an HTTP/1.1 connection flushes its answers before closing after the caller's FIN.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.onSocket(socket));
  }

  get draining(): boolean {
    return this.closing;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  private onSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', noop);
    if (this.closing) {
      socket.destroy();
      return;
    }
    let buffered: Buffer | null = null;
    const onData = (chunk: Buffer) => {
      buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
      const n = Math.min(buffered.length, PREFACE.length);
      const h2 = buffered.compare(PREFACE, 0, n, 0, n) === 0;
      if (h2 && buffered.length < PREFACE.length) return; // a prefix of the preface: wait for more
      socket.off('data', onData);
      socket.off('end', onSilent);
      socket.setTimeout(0);
      socket.off('timeout', onSilent);
      if (h2) {
        // Node's http2 sessions expect the socket to end itself on the caller's FIN.
        socket.allowHalfOpen = false;
        handOver(socket, buffered, this.h2);
      } else {
        this.h1.add(new H1Connection(socket, this, this.h1Options, buffered));
      }
    };
    socket.on('data', onData);
    socket.once('end', onSilent);
    // A connection that never speaks is closed rather than held.
    socket.setTimeout(60_000);
    socket.once('timeout', onSilent);
  }

  forget(conn: H1Connection): void {
    this.h1.delete(conn);
  }

  /** Closes HTTP/1.1 connections past their deadline: idle too long, a head too slow, or lingering after close. */
  private sweep(): void {
    const now = Date.now();
    for (const conn of this.h1) if (conn.deadline !== 0 && now > conn.deadline) conn.destroy();
  }

  private closeIdle(): void {
    for (const conn of this.h1) conn.closeIfIdle();
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/1.1 responses close
   * their connection, HTTP/2 sessions get GOAWAY), and destroys what is left after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.closeIdle();
    for (const session of this.sessions) session.close();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      this.closeIdle();
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/**
 * Gives a sniffed connection to the server that speaks its protocol. Both
 * servers read the socket natively once they take it, which would deliver
 * newer bytes ahead of the ones put back; so the socket stops reading first,
 * and reading restarts only when the put-back bytes are consumed.
 */
function handOver(socket: Socket, sniffed: Buffer, server: http2.Http2Server): void {
  const handle = (socket as Socket & { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  socket.pause();
  socket.unshift(sniffed);
  server.emit('connection', socket);
  // The http2 session reads the put-back bytes itself on the next tick (and must be first).
}
