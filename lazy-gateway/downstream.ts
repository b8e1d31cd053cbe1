// The seam between the caller's protocol (HTTP/1.1 or HTTP/2) and the proxy
// core: each listener adapts its request/response objects to this shape.
import type { Readable } from 'node:stream';
import type { RequestHead } from './headers.ts';

export interface DownstreamObserver {
  /** The caller went away before the response was complete. */
  downstreamClosed(): void;
}

export interface Downstream {
  readonly protocol: 'http' | 'http2';
  readonly remoteAddress: string;
  readonly head: RequestHead;
  /** True once a response head went out. */
  readonly responded: boolean;
  /** Whether a request body follows the head. */
  readonly hasBody: boolean;
  observe(observer: DownstreamObserver): void;
  /** The request body (never destroyed by upstreams), or null. */
  body(): Readable | null;
  /** Request trailers, once the body has ended. */
  trailers(): string[] | null;
  respond(status: number, headers: string[], endStream: boolean, trailers: boolean): void;
  /** Returns false when the caller is not keeping up; `onDrain` then says when to go on. */
  write(chunk: Buffer): boolean;
  onDrain(resume: () => void): void;
  end(trailers: string[] | null): void;
  /** A local reply: status, x-meshscope-error reason, one-line body (gRPC callers get grpc-status). */
  reject(status: number, reason: string, message: string): void;
  /** Resets the exchange after the response started (the upstream failed midway). */
  abort(): void;
}

/** gRPC status for a local reply, after grpc/doc/http-grpc-status-mapping. */
export function grpcStatusFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

export function isGrpc(contentType: string): boolean {
  return contentType.startsWith('application/grpc');
}

export function replyBody(message: string): string {
  return `meshscope gateway: ${message}\n`;
}

/** Percent-encodes a grpc-message as the gRPC spec asks: bytes outside printable ASCII, and '%'. */
export function grpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
