// An HTTP/2 caller stream (h2c prior knowledge, gRPC), adapted to the Downstream seam.
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { ERROR_HEADER, RequestHead, readH2Head, toH2Object, trailersFrom } from './headers.ts';
import { grpcMessage, grpcStatusFor, isGrpc, replyBody, type Downstream, type DownstreamObserver } from './downstream.ts';

const kObserver = Symbol('observer');
const kTrailers = Symbol('trailers');

type Stream = ServerHttp2Stream & { [kObserver]?: DownstreamObserver; [kTrailers]?: OutgoingHttpHeaders };

function onStreamClose(this: Stream): void {
  // A stream that closes before its response ended was reset or abandoned by the caller.
  if (!this.writableFinished || this.rstCode !== constants.NGHTTP2_NO_ERROR) this[kObserver]?.downstreamClosed();
}

function onWantTrailers(this: Stream): void {
  try {
    this.sendTrailers(this[kTrailers] ?? {});
  } catch {
    // Trailers node:http2 refuses must not end the process: the caller sees the stream reset.
    this.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

export class H2Downstream implements Downstream {
  readonly protocol = 'http2' as const;
  readonly head: RequestHead;
  readonly remoteAddress: string;
  readonly hasBody: boolean;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    endStream: boolean,
  ) {
    this.head = readH2Head(new RequestHead(), headers);
    this.remoteAddress = stream.session?.socket?.remoteAddress ?? '';
    this.hasBody = !endStream;
  }

  get responded(): boolean {
    return this.stream.headersSent;
  }

  observe(observer: DownstreamObserver): void {
    (this.stream as Stream)[kObserver] = observer;
    this.stream.once('close', onStreamClose);
  }


  private requestTrailers: IncomingHttpHeaders | undefined;

  body(): Readable | null {
    if (!this.hasBody) return null;
    this.stream.once('trailers', (t: IncomingHttpHeaders) => (this.requestTrailers = t));
    return this.stream;
  }

  trailers(): string[] | null {
    return trailersFrom(this.requestTrailers);
  }

  respond(status: number, headers: string[], endStream: boolean, trailers: boolean): void {
    if (this.stream.destroyed) return;
    const obj = toH2Object(headers, { ':status': status });
    if (endStream || !trailers) {
      this.stream.respond(obj, { endStream });
    } else {
      this.stream.once('wantTrailers', onWantTrailers);
      this.stream.respond(obj, { waitForTrailers: true });
    }
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.stream.once('drain', resume);
  }

  end(trailers: string[] | null): void {
    if (this.stream.destroyed) return;
    if (trailers && trailers.length > 0) (this.stream as Stream)[kTrailers] = toH2Object(trailers);
    this.stream.end();
  }

  reject(status: number, reason: string, message: string): void {
    if (this.stream.destroyed || this.stream.headersSent) return;
    if (isGrpc(this.head.contentType)) {
      // gRPC clients read the outcome from grpc-status: answer trailers-only.
      this.stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': grpcStatusFor(status),
          'grpc-message': grpcMessage(replyBody(message).trimEnd()),
          [ERROR_HEADER]: reason,
        },
        { endStream: true },
      );
      return;
    }
    const body = replyBody(message);
    this.stream.respond({
      ':status': status,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      [ERROR_HEADER]: reason,
    });
    this.stream.end(body);
  }

  abort(): void {
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}
