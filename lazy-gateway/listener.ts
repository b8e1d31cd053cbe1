// One port for HTTP/1.1 and cleartext HTTP/2 with prior knowledge (what
// Envoy upstreams and gRPC speak). Node cannot do both on a cleartext port, so
// the first bytes of each connection decide: the HTTP/2 connection preface
// goes to an http2 server, anything else to an http server.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { constants, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import net, { type Socket } from 'node:net';
import { H1Downstream } from './downstream-h1.ts';
import { H2Downstream } from './downstream-h2.ts';
import type { Downstream } from './downstream.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface ListenerOptions {
  maxHeaderBytes: number;
  maxConcurrentStreams: number;
  /** Idle keep-alive connections from callers close after this long. */
  keepAliveTimeoutMs: number;
}

function noop(): void {}

function onSilent(this: Socket): void {
  this.destroy();
}

export class Listener {
  private readonly server: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<ServerHttp2Session>();
  private closing = false;

  constructor(
    options: ListenerOptions,
    private readonly handle: (ds: Downstream) => void,
  ) {
    this.h1 = http.createServer({ maxHeaderSize: options.maxHeaderBytes, keepAliveTimeout: options.keepAliveTimeoutMs }, (req, res) =>
      this.onH1(req, res),
    );
    // The http server never listens itself; 'listening' starts its connection
    // tracking (header/request timeouts, closeIdleConnections).
    this.h1.emit('listening');
    this.h1.on('clientError', onClientError);
    this.h1.on('connect', (req: IncomingMessage, socket: Socket) => this.onConnectMethod(req, socket));
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
    this.server = net.createServer({ noDelay: true }, (socket) => this.onSocket(socket));
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
      socket.setTimeout(0);
      socket.off('timeout', onSilent);
      handOver(socket, buffered, h2 ? this.h2 : this.h1);
    };
    socket.on('data', onData);
    // A connection that never speaks is closed rather than held.
    socket.setTimeout(60_000);
    socket.once('timeout', onSilent);
  }

  private onH1(req: IncomingMessage, res: ServerResponse): void {
    this.handle(new H1Downstream(req, res, this));
  }

  private onConnectMethod(req: IncomingMessage, socket: Socket): void {
    // Node hands CONNECT over as a raw socket; the core still answers and reports it.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => socket.end());
    this.handle(new H1Downstream(req, res, { draining: true }));
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/1.1 responses close
   * their connection, HTTP/2 sessions get GOAWAY), and destroys what is left after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.h1.closeIdleConnections();
    for (const session of this.sessions) session.close();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      this.h1.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const socket of this.sockets) socket.destroy();
    this.h1.closeAllConnections();
    await closed;
  }
}

/**
 * Gives a sniffed connection to the server that speaks its protocol. Both
 * servers read the socket natively once they take it, which would deliver
 * newer bytes ahead of the ones put back; so the socket stops reading first,
 * and reading restarts only when the put-back bytes are consumed.
 */
function handOver(socket: Socket, sniffed: Buffer, server: http.Server | http2.Http2Server): void {
  const handle = (socket as Socket & { _handle?: { reading?: boolean; readStop?: () => number } })._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  socket.pause();
  socket.unshift(sniffed);
  server.emit('connection', socket);
  // The http server reads the put-back bytes through 'data' once the socket
  // flows; an http2 session reads them itself on the next tick (and must be first).
  if (server instanceof http.Server) socket.resume();
}

function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason] = tooLarge ? ['431 Request Header Fields Too Large', 'headers-too-large'] : ['400 Bad Request', 'bad-request'];
  const body = `meshscope gateway: ${tooLarge ? 'request headers exceed the size limit' : `malformed HTTP/1.1 request (${err.code ?? err.message})`}\n`;
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\nx-meshscope-error: ${reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
