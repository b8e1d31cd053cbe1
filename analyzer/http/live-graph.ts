// The service graph as the page draws it, kept live: positions from the
// cached layout, per-edge request and error rates over the last stats tick,
// and a version that moves when anything drawn changes. Changes go out as
// batched deltas (the SSE route forwards them); whole views are built once
// per version as JSON pieces, each node and edge re-serialized only when what
// it shows changed (json-fragments.ts), because at 10k services serializing
// the whole view costs more than the 200 ms a request may take.
import { EventEmitter } from 'node:events';
import { splitId, type ServiceId } from '../../contracts/index.ts';
import { nodeKey, type Analyzer, type EdgeAttributes } from '../index.ts';
import { JsonPieces } from './cached-body.ts';
import { ArrayRuns, FragmentCache, type Fragment } from './json-fragments.ts';
import { Layout, type Bbox } from './layout/layout.ts';
import { edgeRow, nodeRow } from './view-rows.ts';
import { sliced, type WarmStep } from './warm.ts';

/** `objects`: a GraphView; `rows`: the same as arrays (view-rows.ts), what the page loads. */
export type ViewEncoding = 'objects' | 'rows';

/** One encoding's serialized nodes and edges, and the runs they were last cut into. */
class EncodingCache {
  readonly nodes = new FragmentCache<ServiceId>();
  readonly edges = new FragmentCache<EdgeAttributes['edge'] | string>();
  readonly nodeRuns = new ArrayRuns();
  readonly edgeRuns = new ArrayRuns();
}

/** One service as the page gets it. */
export interface ViewNode {
  id: ServiceId;
  name: string;
  ns: string;
  x: number;
  y: number;
  /** Entries in its scope. */
  scope: number;
  workloads: number;
  /** No ports: only calls others. */
  client?: true;
  /** Seen in traffic but no longer in the inventory. */
  missing?: true;
}

/** One service → service dependency (traffic, or a pin without traffic). */
export interface ViewEdge {
  key: string;
  s: ServiceId;
  t: ServiceId;
  count: number;
  errors: number;
  /** Requests per second over the last stats tick (lifetime average before the first). */
  rps: number;
  /** 5xx share in percent, over the last tick when it had traffic, else lifetime. */
  errPct: number;
  protocols: string[];
  /** Epoch ms. */
  firstSeen: number;
  lastSeen: number;
  /** In scope (not expired). */
  active: boolean;
  /** When it leaves its scope if unseen until then (epoch ms); 0 when not active. */
  expiresAt: number;
  /** Last call through the lazy gateway / direct (epoch ms, 0 = none since start). */
  viaGateway: number;
  direct: number;
  reporters: string[];
  pinned?: true;
}

export interface GraphView {
  version: number;
  /** Server time of the view (epoch ms): the page measures TTLs and windows from it. */
  now: number;
  bbox: Bbox;
  nodes: ViewNode[];
  edges: ViewEdge[];
}

export interface GraphDelta {
  version: number;
  now: number;
  /** New or changed edges (entered a scope, pinned, new counts). */
  edges: ViewEdge[];
  /** Nodes not in the last view (a service first seen), with their position. */
  nodes: ViewNode[];
  /** Keys of edges that left their scope. */
  expired: string[];
  /** Services whose scope changed, with the new scope size and what they pin now. */
  scopes: Array<{ id: ServiceId; scope: number; pins: ServiceId[] }>;
}

interface Rate {
  count: number;
  errors: number;
  rps: number;
  errPct: number;
}

const MS = (t: number): number => (Number.isFinite(t) ? t : 0);

export class LiveGraph extends EventEmitter<{ delta: [GraphDelta] }> {
  readonly layout: Layout;
  version = 0;
  /**
   * Moves only when an edge enters or leaves a scope, a scope changes or a
   * service appears — not on new counts. Keys answers whose counts may lag
   * (the graphology export, the services list) so they are not rebuilt every
   * stats tick under steady traffic.
   */
  structureVersion = 0;
  /** Nodes the page has been given (in a view or a delta): a delta sends only new ones. */
  private known?: Set<ServiceId>;
  /** Each encoding's serialized entities, kept between builds. */
  private readonly json = { objects: new EncodingCache(), rows: new EncodingCache() };
  private readonly rates = new Map<string, Rate>();
  private lastTick: number;
  private timer?: NodeJS.Timeout;
  private pending?: { edges: Set<string>; expired: Set<string>; scopes: Set<ServiceId>; structural: boolean };
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly analyzer: Analyzer,
    private readonly opts: { statsMs?: number } = {},
  ) {
    super();
    this.lastTick = analyzer.clock.now();
    this.layout = new Layout(() => ({
      nodes: this.nodeIds().map((id) => ({ id, namespace: splitId(id).namespace })),
      edges: this.serviceEdges().map((e) => ({ source: e.source, target: e.dest })),
    }));
  }

  /** Subscribes to the analyzer, starts the stats tick and the layout. */
  start(): this {
    const on = <K extends 'edge' | 'expired' | 'scope'>(event: K, fn: (...args: never[]) => void) => {
      this.analyzer.on(event, fn as never);
      this.unsubscribe.push(() => this.analyzer.off(event, fn as never));
    };
    on('edge', (e: { kind: string; source: string; dest: string }) => e.kind === 'service' && this.structural().edges.add(`${e.source}>${e.dest}`));
    on('expired', (e: { kind: string; source: string; dest: string }) => e.kind === 'service' && this.structural().expired.add(`${e.source}>${e.dest}`));
    on('scope', (s: ServiceId) => this.structural().scopes.add(s));
    this.timer = setInterval(() => this.tick(), this.opts.statsMs ?? 5000).unref();
    void this.layout.ready();
    return this;
  }

  close(): void {
    clearInterval(this.timer);
    for (const off of this.unsubscribe.splice(0)) off();
    this.layout.close();
  }

  /**
   * The whole view as JSON, a GraphView or its rows (view-rows.ts); the first call waits for the layout.
   * The route keeps the answer per version (BodyCache); a build reuses every entity's unchanged JSON.
   */
  async view(encoding: ViewEncoding = 'objects'): Promise<JsonPieces> {
    await this.layout.ready();
    return this.build(encoding);
  }

  /** Recomputes rates from the counts since the last tick; a new version when any moved. */
  tick(): void {
    const now = this.analyzer.clock.now();
    const dt = Math.max(1, now - this.lastTick) / 1000;
    this.lastTick = now;
    const moved: string[] = [];
    for (const e of this.serviceEdges()) {
      const key = `${e.source}>${e.dest}`;
      const r = this.rates.get(key);
      if (!r) {
        // First sight: the lifetime figures views already show; nothing to send.
        this.rates.set(key, { count: e.count, errors: e.errors, rps: lifetimeRps(e), errPct: pct(e.errors, e.count) });
        continue;
      }
      const dc = e.count - r.count;
      if (dc === 0 && r.rps === 0) continue;
      const rps = dc / dt;
      const errPct = dc > 0 ? pct(e.errors - r.errors, dc) : r.errPct;
      // Only changes a page can see go out: at 10k services every edge's rate wobbles every tick.
      if (visible(r.rps, rps) || errClass(r.errPct) !== errClass(errPct)) moved.push(key);
      r.rps = rps;
      r.errPct = errPct;
      r.count = e.count;
      r.errors = e.errors;
    }
    if (moved.length) {
      const q = this.queue();
      for (const k of moved) q.edges.add(k);
    }
  }

  private structural(): NonNullable<LiveGraph['pending']> {
    const q = this.queue();
    q.structural = true;
    return q;
  }

  private queue(): NonNullable<LiveGraph['pending']> {
    if (!this.pending) {
      this.pending = { edges: new Set(), expired: new Set(), scopes: new Set(), structural: false };
      // One delta per turn of the event loop: an ingest batch that adds 500 edges sends one message.
      setImmediate(() => this.flush());
    }
    return this.pending;
  }

  private flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    this.version++;
    if (p.structural) this.structureVersion++;
    const edges: ViewEdge[] = [];
    const nodes: ViewNode[] = [];
    const known = this.known;
    const pinned = this.pinnedKeys();
    const addNode = (id: ServiceId) => {
      if (known && !known.has(id)) {
        known.add(id);
        nodes.push(this.viewNode(id));
      }
    };
    for (const key of p.edges) {
      const [s, t] = key.split('>');
      const e = this.find(s, t);
      if (!e) continue;
      addNode(s);
      addNode(t);
      edges.push(this.viewEdge(e, pinned));
    }
    // A scope change may be a pin: its edge is drawn even without traffic.
    for (const s of p.scopes) for (const pin of this.analyzer.pins()) if (pin.source === s && !this.find(pin.source, pin.dest)) {
      addNode(pin.source);
      addNode(pin.dest);
      edges.push(this.pinEdge(pin.source, pin.dest));
    }
    this.emit('delta', {
      version: this.version,
      now: this.analyzer.clock.now(),
      edges,
      nodes,
      expired: [...p.expired],
      scopes: [...p.scopes].map((id) => ({ id, scope: this.analyzer.scope(id).length, pins: this.analyzer.pins().filter((x) => x.source === id).map((x) => x.dest) })),
    });
  }

  private build(encoding: ViewEncoding): JsonPieces {
    const c = this.json[encoding];
    const pinned = this.pinnedKeys();
    c.nodes.begin();
    c.edges.begin();
    const nodes: Fragment[] = [];
    const index = new Map<ServiceId, number>();
    this.known = new Set();
    for (const id of this.nodeIds()) {
      this.known.add(id);
      index.set(id, nodes.length);
      nodes.push(this.nodeFrag(id, encoding));
    }
    const edges: Fragment[] = [];
    for (const e of this.serviceEdges()) edges.push(this.edgeFrag(e, pinned, encoding, index));
    for (const key of pinned) {
      const [s, t] = key.split('>');
      if (this.find(s, t)) continue;
      const [si, ti] = [index.get(s), index.get(t)];
      // A pin whose end left the inventory has no node to name in rows: the page draws no edge without its nodes anyway.
      if (encoding === 'rows' && (si === undefined || ti === undefined)) continue;
      edges.push(c.edges.get(`pin ${key}`, key, [si, ti], undefined, () => (encoding === 'rows' ? edgeRow(this.pinEdge(s, t), si!, ti!) : this.pinEdge(s, t))));
    }
    c.nodes.end();
    c.edges.end();
    const head = { version: this.version, now: this.analyzer.clock.now(), bbox: this.layout.bbox, ...(encoding === 'rows' ? { encoding } : {}) };
    const pieces = [`${JSON.stringify(head).slice(0, -1)},"nodes":[`];
    c.nodeRuns.pieces(nodes, pieces);
    pieces.push('],"edges":[');
    c.edgeRuns.pieces(edges, pieces);
    pieces.push(']}');
    return new JsonPieces(pieces);
  }

  /**
   * Warm steps (warm.ts): once the layout is ready, every node and edge is
   * serialized in this encoding ahead of the first view, which then only joins
   * and compresses.
   */
  prepare(encoding: ViewEncoding): WarmStep[] {
    let pinned: Set<string> | undefined;
    const index = new Map<ServiceId, number>();
    return [
      async () => (await this.layout.ready(), true),
      sliced(() => this.nodeIds(), (id) => (index.set(id, index.size), this.nodeFrag(id, encoding))),
      sliced(() => this.serviceEdges(), (e) => this.edgeFrag(e, (pinned ??= this.pinnedKeys()), encoding, index)),
    ];
  }

  private nodeFrag(id: ServiceId, encoding: ViewEncoding): Fragment {
    const n = this.viewNode(id);
    return this.json[encoding].nodes.get(id, id, [n.name, n.ns, n.x, n.y, n.scope, n.workloads, n.client, n.missing], undefined, () => (encoding === 'rows' ? nodeRow(n) : n));
  }

  private edgeFrag(e: EdgeAttributes['edge'], pinned: Set<string>, encoding: ViewEncoding, index: Map<ServiceId, number>): Fragment {
    const key = `${e.source}>${e.dest}`;
    const r = this.rates.get(key);
    // Counts move with every sighting, and everything else an edge shows moves with them, its rates, or a pin;
    // in rows, also with where its ends are in the node list.
    const [si, ti] = encoding === 'rows' ? [index.get(e.source)!, index.get(e.dest)!] : [0, 0];
    return this.json[encoding].edges.get(e, key, [e.count, e.active, pinned.has(key), r?.rps, r?.errPct, si, ti], undefined, () =>
      encoding === 'rows' ? edgeRow(this.viewEdge(e, pinned), si, ti) : this.viewEdge(e, pinned),
    );
  }

  /** Inventory services, then services only edges still name. */
  private nodeIds(): ServiceId[] {
    const ids = this.analyzer.inventory.services.map((s) => s.id);
    const seen = new Set(ids);
    for (const e of this.serviceEdges()) {
      for (const id of [e.source, e.dest]) if (!seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
    }
    return ids;
  }

  /** The live service-level edges, straight off the graph (no views built). */
  serviceEdges(): Array<EdgeAttributes['edge']> {
    const out: Array<EdgeAttributes['edge']> = [];
    this.analyzer.graph.forEachEdge((_k, a) => {
      if (a.kind === 'service') out.push(a.edge);
    });
    return out;
  }

  private find(source: ServiceId, dest: ServiceId): EdgeAttributes['edge'] | undefined {
    const from = nodeKey('service', source);
    if (!this.analyzer.graph.hasNode(from)) return undefined;
    let found: EdgeAttributes['edge'] | undefined;
    this.analyzer.graph.forEachOutEdge(from, (_k, a) => {
      if (a.kind === 'service' && a.edge.dest === dest) found = a.edge;
    });
    return found;
  }

  private pinnedKeys(): Set<string> {
    return new Set(this.analyzer.pins().map((p) => `${p.source}>${p.dest}`));
  }

  private viewNode(id: ServiceId): ViewNode {
    const s = this.analyzer.inventory.service(id);
    const { name, namespace } = s ?? splitId(id);
    const neighbours: string[] = [];
    if (!this.layout.position(id)) this.analyzer.graph.hasNode(nodeKey('service', id)) && this.analyzer.graph.forEachNeighbor(nodeKey('service', id), (_k, a) => a.kind === 'service' && neighbours.push(a.id));
    const p = this.layout.place(id, namespace, neighbours);
    const n: ViewNode = { id, name, ns: namespace, x: p.x, y: p.y, scope: this.analyzer.scope(id).length, workloads: s?.workloads.length ?? 0 };
    if (s && s.ports.length === 0) n.client = true;
    if (!s) n.missing = true;
    return n;
  }

  private viewEdge(e: EdgeAttributes['edge'], pinned: Set<string>): ViewEdge {
    const key = `${e.source}>${e.dest}`;
    const r = this.rates.get(key);
    const v: ViewEdge = {
      key,
      s: e.source,
      t: e.dest,
      count: e.count,
      errors: e.errors,
      rps: round(r ? r.rps : lifetimeRps(e)),
      errPct: round(r ? r.errPct : pct(e.errors, e.count)),
      protocols: [...e.protocols],
      firstSeen: MS(e.firstSeen),
      lastSeen: MS(e.lastSeen),
      active: e.active,
      expiresAt: e.active ? this.analyzer.expiresAt(e.lastSeen) : 0,
      viaGateway: MS(e.lastViaGateway),
      direct: MS(e.lastDirect),
      reporters: [...e.reporters],
    };
    if (pinned.has(key)) v.pinned = true;
    return v;
  }

  private pinEdge(s: ServiceId, t: ServiceId): ViewEdge {
    return { key: `${s}>${t}`, s, t, count: 0, errors: 0, rps: 0, errPct: 0, protocols: [], firstSeen: 0, lastSeen: 0, active: true, expiresAt: 0, viaGateway: 0, direct: 0, reporters: [], pinned: true };
  }
}

/** A rate change worth redrawing: more than 20% and more than 0.05 rps. */
function visible(before: number, after: number): boolean {
  const d = Math.abs(after - before);
  return d > 0.05 && d > 0.2 * Math.max(before, after);
}

/** The page's error colours change at 1% and 5%. */
function errClass(p: number): number {
  return p >= 5 ? 2 : p >= 1 ? 1 : 0;
}

function lifetimeRps(e: { count: number; firstSeen: number; lastSeen: number }): number {
  // At least a minute: one burst of ten calls is not "10 rps".
  const span = Math.max(60_000, e.lastSeen - e.firstSeen) / 1000;
  return e.count / span;
}

function pct(part: number, whole: number): number {
  return whole > 0 ? (100 * part) / whole : 0;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
