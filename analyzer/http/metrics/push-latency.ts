// Scope change → ACK latency per proxy, from the xDS server's events: a scope
// change that altered a proxy's resources is timed from the moment the cache
// applied it to the proxy's answer of the last response that carried it (CDS,
// then LDS/RDS once the clusters are warm). A change that altered nothing is
// never reported, so it starts no clock; a NACK is counted, not timed. The
// server tracks each change per stream and forgets it when the stream ends,
// so nothing here grows with pending pushes.
import type { ProxyStatus } from '../../../contracts/index.ts';
import type { PushEvent } from '../../../xds-server/index.ts';
import { Histogram } from './prometheus.ts';

export const PUSH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ProxyView {
  proxies(): ProxyStatus[];
  /** proxies().length without building the list (for /metrics). */
  proxyCount(): number;
  proxy(nodeId: string): ProxyStatus | undefined;
}

/** Where delivered pushes are heard (XdsServer.onPush). */
export interface PushSource {
  onPush(listener: (event: PushEvent) => void): () => void;
}

export class PushLatency {
  readonly histogram = new Histogram(PUSH_BUCKETS);
  /** Scope pushes a proxy rejected (any response that carried one was NACKed). */
  nacked = 0;
  private readonly unsubscribe: () => void;

  constructor(xds: PushSource) {
    this.unsubscribe = xds.onPush((e) => this.pushed(e));
  }

  private pushed(e: PushEvent): void {
    // Only scope changes are the analyzer's doing; no response = the proxy needed nothing.
    if (e.cause !== 'scope' || e.responses.length === 0) return;
    if (e.responses.some((r) => !r.ack)) this.nacked++;
    else this.histogram.observe((e.answeredAt - e.changedAt) / 1000);
  }

  stop(): void {
    this.unsubscribe();
  }
}
