// What the demo prints, one line per event, as it happens: a proxy connects
// (or goes), the analyzer learns an edge, a scope push is ACKed (with its
// time-to-direct and the proxy's config size scoped vs full), a caller's
// Envoy sends its first call straight to a service, and the load's tally.
import type { Analyzer, EdgeView } from '../analyzer/index.ts';
import { ProxyBytesMeter, type HostPort, type PushEvent, type XdsServer } from '../xds-server/index.ts';
import type { Sidecar } from './sidecars.ts';
import { TimeToDirect } from './time-to-direct.ts';

export interface NarratorOptions {
  analyzer: Analyzer;
  xds: XdsServer;
  /** What the proxies are told, so sizes are what they are pushed. */
  deployed: { gateway?: HostPort; accessLogService?: HostPort };
  out: (line: string) => void;
}

const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`;
const name = (id: string) => id.replace(/\.default$/, '');

export class Narrator {
  readonly ttd = new TimeToDirect();
  private readonly t0 = performance.now();
  private readonly connected = new Set<string>();
  private readonly direct = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private sidecars: Sidecar[] = [];
  private meter?: ProxyBytesMeter;
  private polling = false;
  /** Service edges learnt so far, `from→to` by name. */
  readonly edges = new Set<string>();

  constructor(private readonly opts: NarratorOptions) {
    const { analyzer, xds } = opts;
    const onEdge = (e: EdgeView) => this.onEdge(e);
    analyzer.on('edge', onEdge);
    this.unsubscribe.push(() => analyzer.off('edge', onEdge));
    this.unsubscribe.push(xds.onPush((e) => this.onPush(e)));
    this.timers.push(setInterval(() => this.pollProxies(), 100));
  }

  /** The sidecars whose counters show when calls go direct. */
  watch(sidecars: Sidecar[]): void {
    this.sidecars = sidecars;
    this.timers.push(setInterval(() => void this.pollDirect(), 500));
  }

  say(what: string, text: string): void {
    const s = ((performance.now() - this.t0) / 1000).toFixed(3).padStart(7);
    this.opts.out(`+${s}s  ${what.padEnd(15)} ${text}`);
  }

  private bytes(workload: string): string {
    const inv = this.opts.analyzer.inventory;
    if (this.meter?.inventory !== inv) this.meter = new ProxyBytesMeter(inv, this.opts.deployed);
    const w = inv.workload(workload);
    if (!w) return '';
    const b = this.meter.measure(workload, this.opts.analyzer.scope(w.service));
    return `config ${kB(b.bytesScoped)} scoped vs ${kB(b.bytesFull)} full`;
  }

  private onEdge(e: EdgeView): void {
    if (e.kind !== 'service') return;
    this.ttd.learnt(e.source, e.dest, e.firstSeen);
    this.edges.add(`${e.source}→${e.dest}`);
    this.say('edge learnt', `${name(e.source)} → ${name(e.dest)} (${e.protocols.join(', ')}, first call through the gateway)`);
  }

  private onPush(e: PushEvent): void {
    if (e.cause !== 'scope' || !e.workload) return;
    const w = this.opts.analyzer.inventory.workload(e.workload);
    if (!w) return;
    const nack = e.responses.find((r) => !r.ack);
    if (nack) {
      this.say('push NACKed', `${e.workload}: ${nack.message ?? '(no message)'}`);
      return;
    }
    const directs = this.ttd.pushed(e, w.service);
    if (directs.length === 0) return;
    const scope = this.opts.analyzer.scope(w.service);
    const made = directs.map((d) => `${name(d.dest)} ${d.timeToDirectMs.toFixed(0)} ms`).join(', ');
    this.say('scope ACKed', `${e.workload}: ${scope.length} in scope, ACKed ${directs[0].pushMs.toFixed(0)} ms after the change; time-to-direct ${made}; ${this.bytes(e.workload)}`);
  }

  private pollProxies(): void {
    const now = new Set<string>();
    for (const p of this.opts.xds.proxies()) {
      const id = p.workload ?? p.nodeId;
      now.add(id);
      if (this.connected.has(id)) continue;
      this.connected.add(id);
      const admin = this.sidecars.find((s) => s.workload.id === id)?.adminUrl;
      this.say('proxy connected', `${id} (${p.profile}${admin ? `, admin ${admin}` : ''}); ${this.bytes(id)}`);
    }
    for (const id of this.connected) {
      if (now.has(id)) continue;
      this.connected.delete(id);
      this.say('proxy gone', id);
    }
  }

  private async pollDirect(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const s of this.sidecars) {
        const counts = await s.outboundRequests().catch(() => new Map<string, number>());
        for (const [cluster, n] of counts) {
          const key = `${s.workload.id} ${cluster}`;
          if (n === 0 || this.direct.has(key)) continue;
          this.direct.add(key);
          const dest = cluster.split('|')[3]?.split('.')[0] ?? cluster;
          this.say('calls direct', `${s.workload.service} → ${dest}: ${s.workload.id}'s Envoy sends them to ${cluster} (${n} so far), not the gateway`);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  /** Caller → service pairs whose calls have gone direct. */
  get directCount(): number {
    return this.direct.size;
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const u of this.unsubscribe) u();
  }
}
