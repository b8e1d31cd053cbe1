// Scope change → ACK latency per proxy. The xDS server reports state, not
// events, so a change snapshots what each affected proxy was last sent and
// short polling (only while a change is pending) waits for new versions to be
// sent and every type ACKed. A push spans several types (CDS, then EDS as
// Envoy asks for it, LDS, RDS), so "all ACKed" must hold on two polls in a row
// with nothing sent in between before the push counts as done.
import type { ProxyStatus, ScopeTarget } from '../../../contracts/index.ts';
import { Histogram } from './prometheus.ts';

interface Pending {
  nodeId: string;
  at: number;
  sent: Record<string, string | undefined>;
  /** When every type was first seen ACKed, and the versions then. */
  settledAt?: number;
  settledSent?: string;
}

export const PUSH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ProxyView {
  proxies(): ProxyStatus[];
  proxy(nodeId: string): ProxyStatus | undefined;
}

interface Snapshot {
  byService: Map<string, ProxyStatus[]>;
  byWorkload: Map<string, ProxyStatus[]>;
}

export class PushLatency {
  readonly histogram = new Histogram(PUSH_BUCKETS);
  nacked = 0;
  private pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  /** One view of the proxies per event-loop turn: a burst of scope changes (an inventory edit) costs one snapshot. */
  private snapshot?: Snapshot;

  constructor(
    private readonly xds: ProxyView,
    private readonly opts: { pollMs?: number; timeoutMs?: number } = {},
  ) {}

  /** Wraps the xDS server's ScopeTarget so every service scope change is timed. */
  wrap(target: ScopeTarget): ScopeTarget {
    return {
      setServiceScope: (service, deps) => {
        this.before(this.turn().byService.get(service));
        target.setServiceScope(service, deps);
      },
      setWorkloadScope: (workload, deps) => {
        this.before(this.turn().byWorkload.get(workload));
        target.setWorkloadScope(workload, deps);
      },
    };
  }

  private turn(): Snapshot {
    if (this.snapshot) return this.snapshot;
    // Settle pushes that completed since the last poll, so they are not merged with this turn's changes.
    if (this.pending.size > 0) this.poll(true);
    const snap: Snapshot = { byService: new Map(), byWorkload: new Map() };
    for (const p of this.xds.proxies()) {
      if (p.profile !== 'envoy') continue;
      if (p.service) push(snap.byService, p.service, p);
      if (p.workload) push(snap.byWorkload, p.workload, p);
    }
    this.snapshot = snap;
    setImmediate(() => (this.snapshot = undefined));
    return snap;
  }

  private before(affected: ProxyStatus[] | undefined): void {
    if (!affected) return;
    const now = performance.now();
    for (const p of affected) {
      const sent: Record<string, string | undefined> = {};
      for (const [type, t] of Object.entries(p.types)) sent[type] = t.versionSent;
      // A newer change before the ACK restarts nothing: latency counts from the first unacknowledged change.
      if (!this.pending.has(p.nodeId)) this.pending.set(p.nodeId, { nodeId: p.nodeId, at: now, sent });
    }
    if (this.pending.size > 0) this.timer ??= setInterval(() => this.poll(), this.opts.pollMs ?? 10);
  }

  private poll(final = false): void {
    const now = performance.now();
    for (const [id, pend] of this.pending) {
      const p = this.xds.proxy(id);
      if (!p || now - pend.at > (this.opts.timeoutMs ?? 30_000)) {
        // Gone, or nothing to push (the change did not alter its resources).
        this.pending.delete(id);
        continue;
      }
      const types = Object.entries(p.types);
      const pushed = types.some(([type, t]) => t.versionSent !== undefined && t.versionSent !== pend.sent[type]);
      const settled = pushed && types.every(([, t]) => t.versionSent === undefined || t.versionAcked === t.versionSent || t.lastNack?.version === t.versionSent);
      const sent = types.map(([, t]) => t.versionSent).join();
      if (!settled) {
        pend.settledAt = undefined;
      } else if (pend.settledAt === undefined || pend.settledSent !== sent) {
        pend.settledAt = now;
        pend.settledSent = sent;
        if (final) this.finish(pend, types);
      } else {
        this.finish(pend, types);
      }
    }
    if (this.pending.size === 0) this.stop();
  }

  private finish(pend: Pending, types: Array<[string, ProxyStatus['types'][string]]>): void {
    if (types.some(([, t]) => t.lastNack && t.lastNack.version === t.versionSent)) this.nacked++;
    else this.histogram.observe((pend.settledAt! - pend.at) / 1000);
    this.pending.delete(pend.nodeId);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
