// An HTTP/1.1 caller, adapted to the Downstream seam.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { ERROR_HEADER, RequestHead, readH1Head, trailersFrom } from './headers.ts';
import { replyBody, type Downstream, type DownstreamObserver } from './downstream.ts';

const kObserver = Symbol('observer');

type ObservedResponse = ServerResponse & { [kObserver]?: DownstreamObserver };

function uncork(res: ServerResponse): void {
  res.uncork();
}

function onResponseClose(this: ObservedResponse): void {
  if (!this.writableFinished) this[kObserver]?.downstreamClosed();
}

export class H1Downstream implements Downstream {
  readonly protocol = 'http' as const;
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly hasBody: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** While draining, responses close their connection so callers move to a new gateway. */
    private readonly listener: { readonly draining: boolean },
  ) {
    this.head = readH1Head(new RequestHead(), req.method ?? 'GET', req.url ?? '/', req.rawHeaders);
    this.remoteAddress = req.socket.remoteAddress ?? '';
    this.hasBody = this.head.hasBody(undefined);
  }

  get responded(): boolean {
    return this.res.headersSent;
  }

  observe(observer: DownstreamObserver): void {
    (this.res as ObservedResponse)[kObserver] = observer;
    this.res.on('close', onResponseClose);
  }


  body(): Readable | null {
    return this.hasBody ? this.req : null;
  }

  trailers(): string[] | null {
    return trailersFrom(this.req.rawTrailers);
  }

  respond(status: number, headers: string[], endStream: boolean): void {
    if (this.listener.draining) this.res.shouldKeepAlive = false;
    // Head, body and end usually arrive in one upstream read: send them in one write.
    this.res.cork();
    process.nextTick(uncork, this.res);
    this.res.writeHead(status, headers);
    if (endStream) this.res.end();
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.res.once('drain', resume);
  }

  end(trailers: string[] | null): void {
    if (trailers && trailers.length > 0) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2) pairs.push([trailers[i], trailers[i + 1]]);
      this.res.addTrailers(pairs);
    }
    this.res.end();
  }

  reject(status: number, reason: string, message: string): void {
    const body = replyBody(message);
    if (this.listener.draining) this.res.shouldKeepAlive = false;
    this.res.writeHead(status, ['content-type', 'text/plain; charset=utf-8', ERROR_HEADER, reason, 'content-length', String(Buffer.byteLength(body))]);
    this.res.end(body);
  }

  abort(): void {
    this.res.destroy();
  }
}
