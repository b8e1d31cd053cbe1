// The event-loop lag /metrics exports (perf_hooks monitorEventLoopDelay).
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const LAG_WINDOW_MS = 10_000;

/**
 * How late timers fire on the one thread that carries ingest, xDS, ALS and the
 * in-process gateway, over a rolling window (the current one and the one
 * before), so any number of scrapers see the same figures.
 */
export class LagWindow {
  private readonly h = monitorEventLoopDelay({ resolution: 10 });
  private previous = new Map<number, number>();
  private readonly timer = setInterval(() => this.rotate(), LAG_WINDOW_MS).unref();

  constructor() {
    this.h.enable();
  }

  /** The `q`th percentile (100 = max) in seconds: the worse of the current and the previous window. */
  seconds(q: number): number {
    const now = this.h.count === 0 ? 0 : this.h.percentile(q);
    return Math.max(now, this.previous.get(q) ?? 0) / 1e9;
  }

  close(): void {
    clearInterval(this.timer);
    this.h.disable();
  }

  private rotate(): void {
    this.previous = new Map([50, 99, 100].map((q) => [q, this.h.count === 0 ? 0 : this.h.percentile(q)]));
    this.h.reset();
  }
}
