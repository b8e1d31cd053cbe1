// Time-to-direct: how long after a caller's first call through the lazy
// gateway its own sidecar can make that call directly. Next to Istio that is
// three hops meshscope does not control end to end: the analyzer learns the
// edge (first call at the gateway) → the writer applies the workload group's
// Sidecar → istiod recomputes the proxies' scope and pushes, and each proxy
// of the group ACKs the new clusters. istiod's /debug/syncz says, per proxy,
// which CDS version it sent and which one the proxy ACKed: once every proxy
// of the group has ACKed a version sent after the write, the cluster is in
// its Envoy. istiod pushes within milliseconds of a write, faster than one
// can ask it what it sent before, so the "before" is taken when the scope
// changes (the tracker is a scope sink attached ahead of the writer, whose
// debounce holds the write back): the versions sent then are the baseline.
import type { FastifyPluginAsync } from 'fastify';
import type { Inventory, MetricFamily, ScopeTarget, ServiceId, WorkloadId } from '../contracts/index.ts';
import { percentile } from '../contracts/percentile.ts';

/** One proxy's row of istiod's /debug/syncz (the fields used here). */
export interface ProxySync {
  /** `POD.NS` for sidecars. */
  proxy: string;
  cluster_sent?: string;
  cluster_acked?: string;
}

export type SynczSource = () => Promise<ProxySync[]>;

/** istiod's debug endpoint: `http://istiod.istio-system:15014` or the harness' loopback port. */
export function istiodSyncz(baseUrl: string): SynczSource {
  const url = `${baseUrl.replace(/\/$/, '')}/debug/syncz`;
  return async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`istiod ${url}: HTTP ${res.status}`);
    return (await res.json()) as ProxySync[];
  };
}

export interface DirectMeasurement {
  /** `ns/name` of the Sidecar. */
  sidecar: string;
  /** Egress hosts the write added (`ns/fqdn`). */
  hosts: string[];
  /** The group's pods (istiod proxy ids). */
  proxies: WorkloadId[];
  /** Earliest first call among the added hosts' edges (epoch ms), when the analyzer knows it. */
  firstCallAt?: number;
  writtenAt: number;
  /** Every proxy of the group ACKed a CDS version sent after the write. */
  ackedAt?: number;
  /** ackedAt − firstCallAt (or − writtenAt when the first call is unknown). */
  totalMs?: number;
  state: 'pending' | 'done' | 'timed-out';
}

export interface TimeToDirectOptions {
  syncz: SynczSource;
  inventory: () => Inventory;
  /** When the group's pods first called a service (the analyzer's edge firstSeen, epoch ms). */
  firstCall?: (workloads: readonly WorkloadId[], service: ServiceId) => number | undefined;
  pollMs?: number;
  timeoutMs?: number;
  /** Kept for the API (newest last). */
  keep?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

/** What the writer's `applied` event carries (a SidecarObject, structurally). */
export interface AppliedSidecar {
  metadata: { name: string; namespace: string };
  spec: { workloadSelector?: { labels: Record<string, string> }; egress: Array<{ hosts: string[] }> };
}

interface Pending {
  m: DirectMeasurement;
  /** Push number of the CDS version each proxy had been sent before the write. */
  before: Map<string, number>;
}

/** istiod versions read `<RFC3339 time>/<push number><nonce uuid>`; the push number only grows. */
export function pushNumber(version: string | undefined): number | undefined {
  if (!version) return undefined;
  const tail = version.slice(version.lastIndexOf('/') + 1);
  const n = Number(tail.length > 36 ? tail.slice(0, -36) : tail);
  return Number.isInteger(n) ? n : undefined;
}

export class TimeToDirect implements ScopeTarget {
  private readonly lastHosts = new Map<string, Set<string>>();
  /** The CDS push number each proxy had been sent, and when that was read. */
  private baseline = new Map<string, number>();
  private baselineAt = 0;
  private baselining: Promise<void> | undefined;
  private readonly pending: Pending[] = [];
  private readonly done: DirectMeasurement[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  /** Sum (s) and count of finished measurements, and the writes no proxy ACKed in time. */
  readonly totals = { sumSeconds: 0, count: 0, timedOut: 0 };

  constructor(private readonly opts: TimeToDirectOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A scope changed: a Sidecar write follows after the writer's debounce, so read what istiod has sent so far. */
  setServiceScope(): void {
    void this.refreshBaseline();
  }

  setWorkloadScope(): void {
    void this.refreshBaseline();
  }

  private refreshBaseline(): Promise<void> {
    this.baselining ??= (async () => {
      const at = this.now();
      try {
        const rows = await this.opts.syncz();
        const next = new Map<string, number>();
        for (const r of rows) {
          const n = pushNumber(r.cluster_sent);
          if (n !== undefined) next.set(r.proxy, n);
        }
        this.baseline = next;
        this.baselineAt = at;
      } catch (err) {
        this.opts.log?.(`time-to-direct: ${(err as Error).message}`);
      } finally {
        this.baselining = undefined;
      }
    })();
    return this.baselining;
  }

  /**
   * A Sidecar was applied at `at`. Hosts it adds to the previous version meshscope
   * applied start a measurement; the first version of a Sidecar starts none
   * (before it, the proxies held the whole mesh and needed no push to go direct).
   */
  async applied(sidecar: AppliedSidecar, at: number): Promise<void> {
    const key = `${sidecar.metadata.namespace}/${sidecar.metadata.name}`;
    const hosts = new Set(sidecar.spec.egress.flatMap((e) => e.hosts));
    const before = this.lastHosts.get(key);
    this.lastHosts.set(key, hosts);
    if (!before) return;
    const added = [...hosts].filter((h) => !before.has(h) && !h.endsWith('/*'));
    if (added.length === 0) return;
    const proxies = this.podsOf(sidecar);
    const inv = this.opts.inventory();
    let firstCallAt: number | undefined;
    for (const h of added) {
      const service = inv.resolveAuthority(h.slice(h.indexOf('/') + 1))?.service;
      const t = service && this.opts.firstCall?.(proxies, service.id);
      if (t !== undefined && (firstCallAt === undefined || t < firstCallAt)) firstCallAt = t;
    }
    // A baseline read after the write may already hold the write's push: read again, and measure nothing rather than a wrong time.
    await this.baselining;
    if (this.baselineAt > at || this.baselineAt === 0) {
      this.opts.log?.(`time-to-direct: no istiod reading before the write of ${key}; not measured`);
      return;
    }
    const sent = new Map<string, number>();
    for (const p of proxies) sent.set(p, this.baseline.get(p) ?? -1);
    this.pending.push({ m: { sidecar: key, hosts: added, proxies, firstCallAt, writtenAt: at, state: 'pending' }, before: sent });
    this.schedule();
  }

  /** The group's pods: the inventory's workloads of the namespace the selector matches. */
  private podsOf(sidecar: AppliedSidecar): WorkloadId[] {
    const sel = sidecar.spec.workloadSelector?.labels ?? {};
    const ns = sidecar.metadata.namespace;
    const out: WorkloadId[] = [];
    for (const w of this.opts.inventory().workloads()) {
      if (w.namespace === ns && Object.entries(sel).every(([k, v]) => w.labels[k] === v)) out.push(w.id);
    }
    return out;
  }

  private schedule(): void {
    if (this.timer || this.closed || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.opts.pollMs ?? 50);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const rows = await this.opts.syncz();
      const byProxy = new Map(rows.map((r) => [r.proxy, r]));
      const t = this.now();
      for (let i = this.pending.length - 1; i >= 0; i--) {
        const p = this.pending[i];
        const connected = p.m.proxies.filter((id) => byProxy.has(id));
        const acked = connected.every((id) => {
          const r = byProxy.get(id)!;
          const sent = pushNumber(r.cluster_sent);
          return sent !== undefined && sent > (p.before.get(id) ?? -1) && r.cluster_acked === r.cluster_sent;
        });
        if (acked && connected.length > 0) this.finish(i, t, 'done');
        else if (t - p.m.writtenAt > (this.opts.timeoutMs ?? 60_000)) this.finish(i, t, 'timed-out');
      }
    } catch (err) {
      this.opts.log?.(`time-to-direct: ${(err as Error).message}`);
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  private finish(i: number, at: number, state: 'done' | 'timed-out'): void {
    const [{ m }] = this.pending.splice(i, 1);
    m.state = state;
    if (state === 'done') {
      m.ackedAt = at;
      m.totalMs = at - (m.firstCallAt ?? m.writtenAt);
      this.totals.sumSeconds += m.totalMs / 1000;
      this.totals.count++;
    } else {
      this.totals.timedOut++;
      this.opts.log?.(`time-to-direct: ${m.sidecar} (+${m.hosts.join(', ')}) not ACKed by ${m.proxies.join(', ')} in time`);
    }
    this.done.push(m);
    if (this.done.length > (this.opts.keep ?? 1000)) this.done.shift();
  }

  /** Finished and pending measurements, oldest first. */
  measurements(): DirectMeasurement[] {
    return [...this.done, ...this.pending.map((p) => p.m)];
  }

  /** p50 and p99 (ms) of the kept finished measurements. */
  quantiles(): { p50?: number; p99?: number } {
    const xs = this.done.filter((m) => m.totalMs !== undefined).map((m) => m.totalMs!);
    if (xs.length === 0) return {};
    return { p50: percentile(xs, 50), p99: percentile(xs, 99) };
  }

  /** A summary for /metrics: quantiles over the kept measurements, sum and count since start. */
  metrics(): MetricFamily[] {
    const name = 'meshscope_istio_time_to_direct_seconds';
    const q = this.quantiles();
    return [
      {
        name,
        type: 'gauge',
        help: "First call through the lazy gateway until every pod of the caller's group ACKed the new Sidecar's clusters (istiod /debug/syncz)",
        samples: [
          ...(q.p50 !== undefined ? [{ labels: { quantile: '0.5' }, value: q.p50 / 1000 }] : []),
          ...(q.p99 !== undefined ? [{ labels: { quantile: '0.99' }, value: q.p99 / 1000 }] : []),
        ],
      },
      { name: `${name}_sum`, type: 'counter', help: 'Sum of time-to-direct measurements', samples: [{ value: this.totals.sumSeconds }] },
      { name: `${name}_count`, type: 'counter', help: 'Time-to-direct measurements finished', samples: [{ value: this.totals.count }] },
      { name: 'meshscope_istio_time_to_direct_timeouts_total', type: 'counter', help: 'Sidecar writes the group\'s proxies did not ACK within the timeout', samples: [{ value: this.totals.timedOut }] },
    ];
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** GET /api/v1/istio/time-to-direct: every measurement kept (pending ones too), with p50/p99. */
export const timeToDirectRoutes: FastifyPluginAsync<{ tracker: TimeToDirect }> = async (app, { tracker }) => {
  app.get('/api/v1/istio/time-to-direct', { schema: { tags: ['istio'], summary: "First call at the gateway → the caller's Envoy has the cluster, per Sidecar write" } }, async () => ({
    ...tracker.quantiles(),
    count: tracker.totals.count,
    timedOut: tracker.totals.timedOut,
    measurements: tracker.measurements(),
  }));
};
