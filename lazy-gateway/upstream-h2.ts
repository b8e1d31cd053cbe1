// h2c upstreams (prior knowledge): one node:http2 session per endpoint, shared
// by every request to it; a closed or refused session is replaced on next use.
import http2, { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Endpoint } from './route.ts';
import { responseFromObject, toH2Object } from './headers.ts';
import { connectTimeout, type UpstreamReceiver, type UpstreamStats } from './upstream.ts';

const kRx = Symbol('receiver');
const kDone = Symbol('done');
const kTrailers = Symbol('trailers');
type Stream = ClientHttp2Stream & { [kRx]: UpstreamReceiver; [kDone]?: boolean; [kTrailers]?: IncomingHttpHeaders };

function onResponse(this: Stream, headers: IncomingHttpHeaders, flags: number): void {
  const endStream = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
  if (endStream) this[kDone] = true;
  this[kRx].headers(Number(headers[':status']), responseFromObject(headers), endStream, true);
}

function onData(this: Stream, chunk: Buffer): void {
  if (!this[kRx].data(chunk)) this.pause();
}

function onTrailers(this: Stream, trailers: IncomingHttpHeaders): void {
  this[kTrailers] = trailers;
}

function onEnd(this: Stream): void {
  if (this[kDone]) return;
  this[kDone] = true;
  const t = this[kTrailers];
  this[kRx].setCancel(null);
  this[kRx].end(t ? responseFromObject(t) : null);
}

function onError(this: Stream, err: Error): void {
  if (this[kDone]) return;
  this[kDone] = true;
  this[kRx].setCancel(null);
  this[kRx].error(err);
}

function onClose(this: Stream): void {
  if (this[kDone]) return;
  this[kDone] = true;
  this[kRx].setCancel(null);
  this[kRx].error(Object.assign(new Error(`upstream reset the stream (code ${this.rstCode})`), { code: 'ERR_HTTP2_STREAM_RESET' }));
}

export interface H2Options {
  maxResponseHeaderBytes: number;
  /** A session not established by then fails its streams as a connect failure (retryable). */
  connectTimeoutMs: number;
}

export class H2Upstream {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  readonly stats: UpstreamStats = { connectTimeouts: 0, overflows: 0, queued: () => 0 };

  constructor(private readonly options: H2Options) {}

  private session(endpoint: Endpoint): ClientHttp2Session {
    const existing = this.sessions.get(endpoint.key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    const session = http2.connect(`http://${host}:${endpoint.port}`, {
      settings: { enablePush: false, initialWindowSize: 1 << 20, maxHeaderListSize: this.options.maxResponseHeaderBytes },
      maxHeaderListPairs: 512,
    });
    const forget = () => {
      if (this.sessions.get(endpoint.key) === session) this.sessions.delete(endpoint.key);
    };
    // Stream errors carry the cause to each request; the session error itself needs no handler beyond forgetting it.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    const ms = this.options.connectTimeoutMs;
    const timer = setTimeout(() => {
      this.stats.connectTimeouts++;
      forget();
      session.destroy(connectTimeout(endpoint.key, ms));
    }, ms);
    session.once('close', () => clearTimeout(timer));
    session.once('connect', () => {
      clearTimeout(timer);
      session.setLocalWindowSize(8 << 20);
    });
    this.sessions.set(endpoint.key, session);
    return session;
  }

  forward(endpoint: Endpoint, headers: OutgoingHttpHeaders, body: Readable | null, rx: UpstreamReceiver): void {
    let stream: Stream;
    try {
      // With a body, the request ends with trailers (empty ones become an empty final DATA frame).
      stream = this.session(endpoint).request(headers, body === null ? { endStream: true } : { waitForTrailers: true }) as Stream;
    } catch (err) {
      rx.error(err as Error);
      return;
    }
    stream[kRx] = rx;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('trailers', onTrailers);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    rx.setCancel(() => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    });
    rx.setResume(() => stream.resume());
    if (body) {
      body.on('data', (chunk: Buffer) => rx.bodySent(chunk.length));
      stream.once('wantTrailers', () => {
        try {
          stream.sendTrailers(toH2Object(rx.requestTrailers() ?? []));
        } catch (err) {
          // Trailers node:http2 refuses must not end the process: the request fails instead.
          stream.destroy(err as Error);
        }
      });
      // A body that fails (its caller went away) cancels the stream even after the answer ended: pipe would leave it open.
      body.once('error', () => {
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      });
      body.pipe(stream);
    }
  }

  retain(keys: ReadonlySet<string>): void {
    for (const [key, session] of this.sessions) {
      if (!keys.has(key)) {
        this.sessions.delete(key);
        session.close();
      }
    }
  }

  async close(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(
      sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.destroyed) return resolve();
            s.once('close', () => resolve());
            s.close();
            setTimeout(() => s.destroy(), 2_000).unref();
          }),
      ),
    );
  }
}
