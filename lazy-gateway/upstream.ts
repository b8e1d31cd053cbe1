// What an upstream connection (HTTP/1.1 pool or HTTP/2 session) reports back
// to the request it carries. The proxy core implements it.

export interface UpstreamReceiver {
  /** Lets the proxy cancel the upstream exchange (timeout, caller gone). */
  setCancel(cancel: (() => void) | null): void;
  /** Lets the proxy resume a paused upstream once the caller drains. */
  setResume(resume: (() => void) | null): void;
  headers(status: number, headers: string[], endStream: boolean, trailers: boolean): void;
  /** Returns false when the upstream must pause until the resume function is called. */
  data(chunk: Buffer): boolean;
  end(trailers: string[] | null): void;
  error(err: Error): void;
  bodySent(bytes: number): void;
  /** Request trailers, asked for once the request body has ended. */
  requestTrailers(): string[] | null;
}

export const CONNECT_TIMEOUT = 'ECONNECTTIMEOUT';

/** No connection within the connect timeout: the endpoint black-holes SYNs (gone, partitioned, overloaded). */
export function connectTimeout(key: string, ms: number): Error {
  return Object.assign(new Error(`no connection to ${key} within ${ms} ms`), { code: CONNECT_TIMEOUT });
}

/** Upstream limits an endpoint has reached: the request was not sent. */
export class UpstreamOverflow extends Error {
  readonly code = 'ERR_UPSTREAM_OVERFLOW';
}

export interface UpstreamStats {
  connectTimeouts: number;
  /** Requests refused because an endpoint's connections and queue were full. */
  overflows: number;
  /** Requests waiting for a connection now. */
  queued(): number;
}

/** Errors that mean the request never reached an upstream application. */
export function isConnectFailure(err: Error & { code?: string; cause?: unknown }): boolean {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === CONNECT_TIMEOUT || code === 'EADDRNOTAVAIL') return true;
  if (code === 'ERR_HTTP2_STREAM_CANCEL' || code === 'ERR_HTTP2_GOAWAY_SESSION') {
    const cause = err.cause as (Error & { code?: string }) | undefined;
    return cause ? isConnectFailure(cause) : false;
  }
  return false;
}

/**
 * True when the upstream cannot have acted on the request: the connection
 * failed before any response byte came back, or the stream was refused.
 */
export function failedBeforeResponse(err: Error & { code?: string; beforeResponse?: boolean }): boolean {
  if (err.beforeResponse === true || isConnectFailure(err)) return true;
  return err.code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(err.message);
}

/** A request that cannot be written as HTTP/1.1 (say, an HTTP/2 caller's non-ASCII :path): the caller's fault, 400. */
export class UnsendableRequest extends Error {
  readonly code = 'ERR_UNSENDABLE_REQUEST';
}
