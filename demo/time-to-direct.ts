// Time-to-direct: from the first call a caller makes to a service outside its
// scope (the gateway's record of it, timed where the gateway received it) to
// the caller's Envoy ACKing the scope push that puts the service in scope —
// from then on its calls go direct. Measured from the analyzer's edge events
// and the xDS server's delivered-push events; nothing is polled.
import type { PushEvent } from '../xds-server/index.ts';
import { percentile } from '../contracts/percentile.ts';

interface Pending {
  dest: string;
  /** Epoch ms of the first call (the record's time). */
  firstCallAt: number;
  /** performance.now() when the analyzer learnt the edge: a push that changed config before it cannot carry it. */
  learntAt: number;
}

export interface Direct {
  source: string;
  dest: string;
  workload: string;
  /** First call → the caller's ACK, ms. */
  timeToDirectMs: number;
  /** The push alone: scope change applied → ACK, ms. */
  pushMs: number;
}

export class TimeToDirect {
  private readonly pending = new Map<string, Pending[]>();
  readonly samples: number[] = [];

  /** An edge source → dest (service ids) was learnt from a call made at `firstSeen`. */
  learnt(source: string, dest: string, firstSeen: string, at = performance.now()): void {
    const list = this.pending.get(source) ?? [];
    list.push({ dest, firstCallAt: Date.parse(firstSeen), learntAt: at });
    this.pending.set(source, list);
  }

  /** A delivered push to a workload of `service`; returns the edges it made direct. */
  pushed(e: PushEvent, service: string): Direct[] {
    if (e.cause !== 'scope' || e.responses.length === 0 || e.responses.some((r) => !r.ack) || !e.workload) return [];
    const list = this.pending.get(service);
    if (!list) return [];
    const ackedAt = performance.timeOrigin + e.answeredAt;
    const done = list.filter((p) => p.learntAt <= e.changedAt);
    if (done.length === 0) return [];
    this.pending.set(service, list.filter((p) => p.learntAt > e.changedAt));
    return done.map((p) => {
      const ms = Math.max(0, ackedAt - p.firstCallAt);
      this.samples.push(ms);
      return { source: service, dest: p.dest, workload: e.workload!, timeToDirectMs: ms, pushMs: e.answeredAt - e.changedAt };
    });
  }

  summary(): string {
    if (this.samples.length === 0) return 'no time-to-direct samples';
    return `time-to-direct p50 ${percentile(this.samples, 50).toFixed(0)} ms, p99 ${percentile(this.samples, 99).toFixed(0)} ms over ${this.samples.length} edges`;
  }
}
