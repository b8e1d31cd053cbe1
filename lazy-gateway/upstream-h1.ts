// HTTP/1.1 upstreams: one undici Pool of keep-alive connections per endpoint.
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Endpoint } from './route.ts';
import { responseFromRaw } from './headers.ts';
import type { UpstreamReceiver } from './upstream.ts';

/** undici's callback-style dispatch handler: raw headers, no per-chunk wrapping. */
class H1Handler {
  private resume: (() => void) | null = null;
  constructor(private readonly rx: UpstreamReceiver) {}

  onConnect(abort: (err?: Error) => void): void {
    this.rx.setCancel(() => abort(new Error('cancelled by the gateway')));
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true; // 100-continue and friends: Node answered the caller already
    this.resume = resume;
    this.rx.setResume(resume);
    const headers = responseFromRaw(raw);
    this.rx.headers(status, headers, false, headers.includes('trailer'));
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.rx.data(chunk);
  }

  onComplete(trailers: string[] | Buffer[] | null): void {
    this.rx.setCancel(null);
    this.rx.end(trailers && trailers.length > 0 ? responseFromRaw(trailers) : null);
  }

  onError(err: Error): void {
    this.rx.setCancel(null);
    this.rx.error(err);
  }

  onBodySent(chunk: Buffer | string): void {
    this.rx.bodySent(chunk.length);
  }
}

export interface H1Options {
  maxResponseHeaderBytes: number;
}

export class H1Upstream {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: H1Options) {}

  forward(endpoint: Endpoint, method: string, path: string, headers: string[], body: Readable | null, rx: UpstreamReceiver): void {
    let pool = this.pools.get(endpoint.key);
    if (!pool) {
      const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
      pool = new Pool(`http://${host}:${endpoint.port}`, {
        connections: null,
        pipelining: 1,
        // The gateway runs its own per-request timeout (route timeout semantics).
        headersTimeout: 0,
        bodyTimeout: 0,
        maxHeaderSize: this.options.maxResponseHeaderBytes,
      });
      this.pools.set(endpoint.key, pool);
    }
    pool.dispatch({ method, path, headers, body, idempotent: false }, new H1Handler(rx) as never);
  }

  /** Closes pools of endpoints no longer in the inventory. */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      if (!keys.has(key)) {
        this.pools.delete(key);
        void pool.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }
}
