// What the page knows of the graph: the server's view (/api/v1/graph/view)
// with the deltas of /api/v1/graph/events applied in place.
import type { GraphDelta, GraphView, ViewEdge, ViewNode } from '../live-graph.ts';

export type { ViewEdge, ViewNode };

export class Model {
  version = -1;
  nodes = new Map<string, ViewNode>();
  edges = new Map<string, ViewEdge>();
  /** Edges by endpoint, both directions. */
  out = new Map<string, Set<string>>();
  in = new Map<string, Set<string>>();
  bbox = { x: [-1, 1] as number[], y: [-1, 1] as number[] };
  /** Server clock minus ours: TTLs and windows are measured on the server's clock. */
  private skew = 0;

  private ranks?: Map<string, number>;

  /** The namespace's place in the sorted list of namespaces (for colours). */
  namespaceRank(ns: string): number | undefined {
    if (!this.ranks) this.ranks = new Map([...new Set([...this.nodes.values()].map((n) => n.ns))].sort().map((x, i) => [x, i]));
    return this.ranks.get(ns);
  }

  now(): number {
    return Date.now() + this.skew;
  }

  load(view: GraphView): void {
    this.version = view.version;
    this.skew = view.now - Date.now();
    this.bbox = view.bbox;
    this.nodes = new Map(view.nodes.map((n) => [n.id, n]));
    this.ranks = undefined;
    this.edges = new Map();
    this.out = new Map();
    this.in = new Map();
    for (const e of view.edges) this.putEdge(e);
  }

  /** Applies a delta newer than the view; false when it is stale. */
  apply(d: GraphDelta): boolean {
    if (d.version <= this.version) return false;
    this.version = d.version;
    this.skew = d.now - Date.now();
    for (const n of d.nodes) if (!this.nodes.has(n.id)) this.nodes.set(n.id, n);
    if (d.nodes.length) this.ranks = undefined;
    for (const e of d.edges) this.putEdge(e);
    for (const k of d.expired) {
      const e = this.edges.get(k);
      if (e) this.edges.set(k, { ...e, active: false, expiresAt: 0 });
    }
    for (const s of d.scopes) {
      const n = this.nodes.get(s.id);
      if (n) this.nodes.set(s.id, { ...n, scope: s.scope });
      // Pins of this service now: an unpinned edge without traffic goes, one with traffic stays unpinned.
      for (const k of this.out.get(s.id) ?? []) {
        const e = this.edges.get(k)!;
        const pinned = s.pins.includes(e.t);
        if (pinned === !!e.pinned) continue;
        if (!pinned && e.count === 0) this.dropEdge(e);
        else this.edges.set(k, pinned ? { ...e, pinned: true } : { ...e, pinned: undefined });
      }
    }
    return true;
  }

  private dropEdge(e: ViewEdge): void {
    this.edges.delete(e.key);
    this.out.get(e.s)?.delete(e.key);
    this.in.get(e.t)?.delete(e.key);
  }

  private putEdge(e: ViewEdge): void {
    this.edges.set(e.key, e);
    link(this.out, e.s, e.key);
    link(this.in, e.t, e.key);
  }
}

function link(index: Map<string, Set<string>>, id: string, key: string): void {
  let s = index.get(id);
  if (!s) index.set(id, (s = new Set()));
  s.add(key);
}
