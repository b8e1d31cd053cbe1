// The demo's load generator: Online Boutique's `loadgenerator` workload,
// calling the front end through its own sidecar at a steady rate. Every
// request fans out through the whole mesh, so one failure anywhere shows here.
import { Dependencies, type HostPort } from './apps.ts';
import type { DemoWorkload } from './mesh.ts';

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  /** The latest failures' messages, oldest first. */
  failures: string[];
}

export class LoadGenerator {
  private readonly deps: Dependencies;
  private timer?: NodeJS.Timeout;
  private readonly inflight = new Set<Promise<void>>();
  readonly stats: LoadStats = { sent: 0, ok: 0, failed: 0, failures: [] };

  constructor(
    w: DemoWorkload,
    egress: HostPort,
    private readonly onFailure: (message: string) => void,
  ) {
    this.deps = new Dependencies(egress, w.calls);
  }

  start(ratePerSecond: number): void {
    this.timer = setInterval(() => this.once(), Math.max(1, Math.round(1000 / ratePerSecond)));
    this.once();
  }

  private once(): void {
    this.stats.sent++;
    const p = this.deps.callAll().then(
      () => void this.stats.ok++,
      (err: Error) => {
        this.stats.failed++;
        this.stats.failures = [...this.stats.failures.slice(-9), err.message];
        this.onFailure(err.message);
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
    this.deps.close();
  }
}
