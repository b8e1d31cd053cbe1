// Scope change → ACK latency per proxy. The xDS server reports state, not
// events, so a change snapshots what each affected proxy was last sent and
// short polling (only while a change is pending) waits for the new versions
// to be sent and ACKed.
import type { ProxyStatus, ScopeTarget, ServiceId } from '../../../contracts/index.ts';
import { Histogram } from './prometheus.ts';

interface Pending {
  nodeId: string;
  at: number;
  sent: Record<string, string | undefined>;
}

export const PUSH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class PushLatency {
  readonly histogram = new Histogram(PUSH_BUCKETS);
  nacked = 0;
  private pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly proxies: () => ProxyStatus[],
    private readonly opts: { pollMs?: number; timeoutMs?: number } = {},
  ) {}

  /** Wraps the xDS server's ScopeTarget so every service scope change is timed. */
  wrap(target: ScopeTarget): ScopeTarget {
    return {
      setServiceScope: (service, deps) => {
        this.before((p) => p.service === service);
        target.setServiceScope(service, deps);
      },
      setWorkloadScope: (workload, deps) => {
        this.before((p) => p.workload === workload);
        target.setWorkloadScope(workload, deps);
      },
    };
  }

  private before(affects: (p: ProxyStatus) => boolean): void {
    const now = performance.now();
    for (const p of this.proxies()) {
      if (p.profile !== 'envoy' || !affects(p)) continue;
      const sent: Record<string, string | undefined> = {};
      for (const [type, t] of Object.entries(p.types)) sent[type] = t.versionSent;
      // A newer change before the ACK restarts nothing: latency counts from the first unacknowledged change.
      if (!this.pending.has(p.nodeId)) this.pending.set(p.nodeId, { nodeId: p.nodeId, at: now, sent });
    }
    if (this.pending.size > 0) this.timer ??= setInterval(() => this.poll(), this.opts.pollMs ?? 10);
  }

  private poll(): void {
    const now = performance.now();
    const byId = new Map(this.proxies().map((p) => [p.nodeId, p]));
    for (const [id, pend] of this.pending) {
      const p = byId.get(id);
      const types = p ? Object.entries(p.types) : [];
      const pushed = types.some(([type, t]) => t.versionSent !== undefined && t.versionSent !== pend.sent[type]);
      const settled = types.every(([, t]) => t.versionSent === undefined || t.versionAcked === t.versionSent || t.lastNack?.version === t.versionSent);
      if (p && pushed && settled) {
        if (types.some(([, t]) => t.lastNack && t.lastNack.version === t.versionSent)) this.nacked++;
        else this.histogram.observe((now - pend.at) / 1000);
        this.pending.delete(id);
      } else if (!p || now - pend.at > (this.opts.timeoutMs ?? 30_000)) {
        // Gone, or nothing to push (the change did not alter its resources).
        this.pending.delete(id);
      }
    }
    if (this.pending.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
