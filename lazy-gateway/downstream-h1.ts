// An HTTP/1.1 caller's exchange, adapted to the Downstream seam: the request
// as parsed by h1-request.ts, the response framed here (length as the
// upstream gave it, else chunked, else until close for HTTP/1.0 callers).
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { replyBody, type Downstream, type DownstreamObserver } from './downstream.ts';
import type { H1Connection, RequestBody } from './h1-connection.ts';
import type { ParsedRequest } from './h1-request.ts';
import { ERROR_HEADER, RequestHead, readH1Head, trailersFrom } from './headers.ts';

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

let dateText = '';
let dateSecond = 0;

/** The Date field value, computed once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export class H1Downstream implements Downstream {
  readonly protocol = 'http' as const;
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly hasBody: boolean;
  /** Whether the connection may serve another request after this one. */
  keepAlive: boolean;
  finished = false;
  private headSent = false;
  /** The upstream's resume, to call once the caller reads again. */
  private resumeOnDrain: (() => void) | null = null;
  private chunked = false;
  private noBody = false;
  private observer: DownstreamObserver | null = null;

  constructor(
    private readonly conn: H1Connection,
    private readonly request: ParsedRequest,
    private readonly requestBody: RequestBody | null,
  ) {
    this.head = readH1Head(new RequestHead(), request.method, request.target, request.fields);
    this.remoteAddress = conn.remoteAddress;
    this.hasBody = requestBody !== null;
    this.keepAlive = request.keepAlive;
  }

  get responded(): boolean {
    return this.headSent;
  }

  observe(observer: DownstreamObserver): void {
    this.observer = observer;
  }

  /** The caller's connection closed before the response was complete. */
  callerGone(): void {
    this.finished = true;
    this.resumeOnDrain = null;
    this.observer?.downstreamClosed();
  }

  /** The caller read what it was sent: the upstream may go on. */
  drained(): void {
    const resume = this.resumeOnDrain;
    this.resumeOnDrain = null;
    resume?.();
  }

  body(): Readable | null {
    return this.requestBody;
  }

  trailers(): string[] | null {
    return trailersFrom(this.requestBody?.trailers ?? undefined);
  }

  respond(status: number, headers: string[], endStream: boolean): void {
    const request = this.request;
    this.noBody = request.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name === 'content-length') length = true;
      else if (name === 'date') date = true;
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!date) head += `date: ${httpDate()}\r\n`;
    if (!this.noBody && !length) {
      if (request.http10) this.keepAlive = false; // the end of the body is the end of the connection
      else {
        this.chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      }
    }
    if (!this.conn.reusable || this.conn.host.draining) this.keepAlive = false;
    if (!this.keepAlive) head += 'connection: close\r\n';
    else head += `${request.http10 ? 'connection: keep-alive\r\n' : ''}keep-alive: timeout=${this.conn.idleSeconds}\r\n`;
    this.headSent = true;
    this.conn.send(`${head}\r\n`);
    if (endStream) this.end(null);
  }

  write(chunk: Buffer): boolean {
    if (this.noBody || chunk.length === 0) return true;
    if (!this.chunked) return this.conn.send(chunk);
    const size = this.conn.send(`${chunk.length.toString(16)}\r\n`);
    const data = this.conn.send(chunk);
    return this.conn.send('\r\n') && size && data;
  }

  onDrain(resume: () => void): void {
    // Several chunks of one upstream read may each report a full socket: one wake-up is enough.
    this.resumeOnDrain = resume;
  }

  end(trailers: string[] | null): void {
    if (this.finished) return;
    if (this.chunked) {
      let last = '0\r\n';
      if (trailers) for (let i = 0; i < trailers.length; i += 2) last += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.conn.send(`${last}\r\n`);
    }
    this.finished = true;
    this.resumeOnDrain = null;
    this.conn.responseDone();
  }

  reject(status: number, reason: string, message: string): void {
    const body = Buffer.from(replyBody(message));
    this.respond(status, ['content-type', 'text/plain; charset=utf-8', ERROR_HEADER, reason, 'content-length', String(body.length)], false);
    this.write(body);
    this.end(null);
  }

  abort(): void {
    this.finished = true;
    this.resumeOnDrain = null;
    this.conn.destroy();
  }
}
