// From the model and the view state to what sigma draws: which services are
// shown (namespace filter, time window, hide query, focus), which are folded
// into their namespace (overview), edges aggregated between what is shown,
// and colour and width by error rate and rps. The drawn graph is updated by
// difference, so nothing that stays is re-added and nothing moves.
import type { AbstractGraph as Graph } from 'graphology-types';
import type { Model, ViewEdge, ViewNode } from './model.ts';
import { matches, type Query, type Subject } from './query.ts';
import { WINDOW_MS, type ViewState } from './state.ts';

export interface NodeAttrs {
  x: number;
  y: number;
  size: number;
  color: string;
  label: string;
  /** sigma program: 'circle' (antialiased disc) or, on big views, 'point' (gl.POINTS, far cheaper per pixel). */
  type: 'circle' | 'point';
  kind: 'service' | 'namespace';
  ns: string;
  /** Services folded into a namespace node. */
  members: number;
  /** Service key (NAME.NAMESPACE) or namespace name. */
  ref: string;
}

export interface EdgeAttrs {
  size: number;
  color: string;
  /** sigma program: 'arrow' or, on big views, 'line' (1 px gl.LINES, no width or head). */
  type: 'arrow' | 'line';
  /** Service edges folded into this one. */
  edges: number;
  rps: number;
  errPct: number;
  route: 'gateway' | 'direct' | 'pinned' | 'expired' | 'mixed';
  expiring: boolean;
}

export interface Display {
  nodes: Map<string, NodeAttrs>;
  edges: Map<string, { source: string; target: string; attrs: EdgeAttrs }>;
  /** Keys (drawn) that the find query matches; undefined = no find query. */
  found?: Set<string>;
  /** Services shown or folded, for the stats line. */
  services: number;
}

export const COLORS = {
  healthy: '#94a3b8',
  gateway: '#0ea5e9',
  pinned: '#14b8a6',
  expiring: '#a855f7',
  warn: '#f59e0b',
  error: '#e5484d',
  expired: '#d4d8de',
  missing: '#9ca3af',
};

const PALETTE = ['#4f7cac', '#5b9279', '#8e6c8a', '#c08552', '#3d8fa8', '#7a8b3d', '#b5676f', '#5f6caf', '#9a7b4f', '#4c9a8f', '#a4668f', '#6d8f4a'];

/** A namespace's colour: by its rank among the mesh's namespaces, so up to 12 are all distinct. */
export function nsColor(ns: string, model?: Model): string {
  const rank = model?.namespaceRank(ns);
  if (rank !== undefined) return PALETTE[rank % PALETTE.length];
  let h = 0;
  for (let i = 0; i < ns.length; i++) h = (h * 31 + ns.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function edgeRoute(e: ViewEdge): EdgeAttrs['route'] {
  if (!e.active) return 'expired';
  if (e.count === 0 && e.pinned) return 'pinned';
  // Still through the catch-all: the gateway carried its last call and no direct one came since.
  return e.viaGateway > e.direct ? 'gateway' : 'direct';
}

/** Less than a fifth of its TTL left. */
export function isExpiring(e: ViewEdge, now: number): boolean {
  if (!e.active || e.expiresAt === 0 || e.lastSeen === 0) return false;
  return e.expiresAt - now < 0.2 * (e.expiresAt - e.lastSeen);
}

function edgeColor(route: EdgeAttrs['route'], errPct: number, expiring: boolean): string {
  if (route === 'expired') return COLORS.expired;
  if (errPct >= 5) return COLORS.error;
  if (errPct >= 1) return COLORS.warn;
  if (expiring) return COLORS.expiring;
  if (route === 'gateway') return COLORS.gateway;
  if (route === 'pinned') return COLORS.pinned;
  return COLORS.healthy;
}

/**
 * Above these counts a view is drawn with the cheap programs: points (gl.POINTS,
 * antialiased discs all the same) and 1 px lines. sigma's discs and arrows are
 * instanced draws, which a software GL pays dearly for (SwiftShader, headless
 * Chromium: 1000 discs ~50 ms a frame against ~15 ms as points; 10k discs and
 * 30k arrows 1.3–2.4 s a frame against ~30 ms). Points only stop growing past
 * the GPU's largest point size when zoomed far in, and arrow heads and widths
 * are sub-pixel at the zoom that shows 10k edges anyway. The 10k namespace
 * overview (~6k edges) keeps its arrows (~16 ms pan frames: hidden on move).
 */
export const FAST_NODES_ABOVE = 500;
export const FAST_EDGES_ABOVE = 10000;

export function edgeWidth(rps: number): number {
  return Math.min(8, 1 + 1.5 * Math.log10(1 + rps * 10));
}

export function edgeSubject(e: ViewEdge, model: Model, now: number): Subject {
  const s = model.nodes.get(e.s);
  const t = model.nodes.get(e.t);
  return {
    names: [s?.name ?? e.s, t?.name ?? e.t, e.s, e.t],
    namespaces: [s?.ns ?? '', t?.ns ?? ''],
    rps: e.rps,
    errPct: e.errPct,
    protocols: e.protocols,
    gateway: edgeRoute(e) === 'gateway',
    pinned: !!e.pinned,
    expiring: isExpiring(e, now),
  };
}

/** A service as a query subject: its inbound traffic (as Kiali), protocols and flags of its edges both ways. */
export function nodeSubject(n: ViewNode, model: Model, now: number): Subject {
  let rps = 0;
  let errWeighted = 0;
  const protocols = new Set<string>();
  let gateway = false;
  let pinned = false;
  let expiring = false;
  for (const k of model.in.get(n.id) ?? []) {
    const e = model.edges.get(k)!;
    rps += e.rps;
    errWeighted += e.errPct * Math.max(e.rps, 1e-9);
  }
  for (const set of [model.in.get(n.id), model.out.get(n.id)]) {
    for (const k of set ?? []) {
      const e = model.edges.get(k)!;
      for (const p of e.protocols) protocols.add(p);
      gateway ||= edgeRoute(e) === 'gateway';
      pinned ||= !!e.pinned;
      expiring ||= isExpiring(e, now);
    }
  }
  let weight = 0;
  for (const k of model.in.get(n.id) ?? []) weight += Math.max(model.edges.get(k)!.rps, 1e-9);
  return { names: [n.name, n.id], namespaces: [n.ns], rps, errPct: weight ? errWeighted / weight : 0, protocols: [...protocols], gateway, pinned, expiring };
}

/** Services within `hops` calls of `focus`, following callees and callers separately. */
export function neighbourhood(model: Model, focus: string, hops: number): Set<string> {
  const keep = new Set([focus]);
  for (const [index, end] of [[model.out, 't'], [model.in, 's']] as const) {
    let frontier = [focus];
    for (let h = 0; h < hops && frontier.length; h++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const k of index.get(id) ?? []) {
          const other = model.edges.get(k)![end];
          if (!keep.has(other)) {
            keep.add(other);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
  }
  return keep;
}

export function buildDisplay(model: Model, state: ViewState, overview: boolean, find: Query | undefined, hide: Query | undefined): Display {
  const now = model.now();
  const since = now - WINDOW_MS[state.window];
  const inWindow = (e: ViewEdge) => (state.window === 'all' ? true : e.active && (e.pinned || e.lastSeen >= since));
  const focus = state.focus && model.nodes.has(state.focus) ? neighbourhood(model, state.focus, state.hops) : undefined;
  const expanded = new Set(state.expanded);

  // Which services are shown.
  const shown = new Set<string>();
  const edgesShown: ViewEdge[] = [];
  const touched = new Set<string>();
  for (const e of model.edges.values()) {
    if (!inWindow(e)) continue;
    if (state.ns && model.nodes.get(e.s)?.ns !== state.ns && model.nodes.get(e.t)?.ns !== state.ns) continue;
    if (focus && !(focus.has(e.s) && focus.has(e.t))) continue;
    if (hide && matches(hide, edgeSubject(e, model, now))) continue;
    edgesShown.push(e);
  }
  for (const n of model.nodes.values()) {
    if (focus && !focus.has(n.id)) continue;
    if (hide && matches(hide, nodeSubject(n, model, now))) continue;
    if (state.ns && n.ns !== state.ns) continue;
    // Outside "all", a service without a call in the window is idle: not shown.
    if (state.window !== 'all' && !(model.out.get(n.id)?.size || model.in.get(n.id)?.size)) continue;
    shown.add(n.id);
  }
  const visibleEdges = edgesShown.filter((e) => {
    // An edge into another namespace keeps its far end visible under a namespace filter.
    if (state.ns) for (const id of [e.s, e.t]) if (!shown.has(id) && model.nodes.get(id)?.ns !== state.ns && !(hide && matches(hide, nodeSubject(model.nodes.get(id)!, model, now)))) shown.add(id);
    return shown.has(e.s) && shown.has(e.t);
  });
  if (state.window !== 'all') {
    for (const e of visibleEdges) {
      touched.add(e.s);
      touched.add(e.t);
    }
    for (const id of shown) if (!touched.has(id)) shown.delete(id);
  }

  // Fewer nodes can be bigger; at 10k they must not cover each other.
  const base = shown.size <= 300 ? 7 : shown.size <= 3000 ? 4 : 1.5;
  // Above 3000 the degree adds less: at 10k, nodes a third the area pan in half the frame time on
  // a software GL (SwiftShader: 10k points cost ~30 ms a frame at the old size) and overlap less.
  const perDegree = shown.size <= 3000 ? 1.5 : 0.8;
  const maxDegree = shown.size <= 3000 ? 9 : 5;
  const fold = (n: ViewNode): string => (overview && !focus && !expanded.has(n.ns) ? `ns:${n.ns}` : n.id);
  const nodes = new Map<string, NodeAttrs>();
  const nsSum = new Map<string, { x: number; y: number; n: number; err: number; rps: number }>();
  // A service's health is its inbound error rate weighted by rps, as a caller would see it.
  const inbound = new Map<string, { err: number; rps: number }>();
  for (const e of visibleEdges) {
    if (!e.active) continue;
    const w = Math.max(e.rps, 1e-9);
    const h = inbound.get(e.t) ?? { err: 0, rps: 0 };
    h.err += e.errPct * w;
    h.rps += w;
    inbound.set(e.t, h);
  }
  const health = new Map([...inbound].map(([id, h]) => [id, h.err / h.rps]));
  for (const id of shown) {
    const n = model.nodes.get(id)!;
    const key = fold(n);
    if (key === n.id) {
      const degree = (model.out.get(id)?.size ?? 0) + (model.in.get(id)?.size ?? 0);
      const err = health.get(id) ?? 0;
      nodes.set(id, {
        x: n.x,
        y: n.y,
        size: base + Math.min(maxDegree, perDegree * Math.sqrt(degree)),
        color: n.missing ? COLORS.missing : err >= 5 ? COLORS.error : err >= 1 ? COLORS.warn : nsColor(n.ns, model),
        label: n.name,
        type: 'circle',
        kind: 'service',
        ns: n.ns,
        members: 1,
        ref: n.id,
      });
    } else {
      const s = nsSum.get(n.ns) ?? { x: 0, y: 0, n: 0, err: 0, rps: 0 };
      s.x += n.x;
      s.y += n.y;
      s.n++;
      const h = inbound.get(id);
      if (h) {
        s.err += h.err;
        s.rps += h.rps;
      }
      nsSum.set(n.ns, s);
    }
  }
  for (const [ns, s] of nsSum) {
    const err = s.rps ? s.err / s.rps : 0;
    nodes.set(`ns:${ns}`, {
      x: s.x / s.n,
      y: s.y / s.n,
      size: base + 3 + Math.min(12, Math.sqrt(s.n)),
      color: err >= 5 ? COLORS.error : err >= 1 ? COLORS.warn : nsColor(ns, model),
      label: `${ns} (${s.n})`,
      type: 'circle',
      kind: 'namespace',
      ns,
      members: s.n,
      ref: ns,
    });
  }

  if (nodes.size > FAST_NODES_ABOVE) for (const a of nodes.values()) a.type = 'point';

  const edges = new Map<string, { source: string; target: string; attrs: EdgeAttrs; errSum: number; weight: number; routes: Set<string> }>();
  for (const e of visibleEdges) {
    const source = fold(model.nodes.get(e.s)!);
    const target = fold(model.nodes.get(e.t)!);
    if (source === target && source.startsWith('ns:')) continue; // calls inside a folded namespace
    const key = `${source}>${target}`;
    const route = edgeRoute(e);
    const expiring = isExpiring(e, now);
    let agg = edges.get(key);
    if (!agg) {
      agg = { source, target, errSum: 0, weight: 0, routes: new Set(), attrs: { size: 1, color: '', type: 'arrow', edges: 0, rps: 0, errPct: 0, route, expiring: false } };
      edges.set(key, agg);
    }
    agg.attrs.edges++;
    agg.attrs.rps += e.rps;
    agg.errSum += e.errPct * Math.max(e.rps, 1e-9);
    agg.weight += Math.max(e.rps, 1e-9);
    agg.attrs.errPct = Math.max(agg.attrs.errPct, e.errPct);
    agg.attrs.expiring ||= expiring;
    agg.routes.add(route);
  }
  const out: Display['edges'] = new Map();
  const edgeType = edges.size > FAST_EDGES_ABOVE ? 'line' : 'arrow';
  for (const [key, agg] of edges) {
    const a = agg.attrs;
    a.type = edgeType;
    a.route = agg.routes.size === 1 ? a.route : agg.routes.has('gateway') ? 'gateway' : 'mixed';
    // One service edge is drawn as it is (a 503 edge is red); a fold of many by their rps-weighted
    // rate, or one failing call among thousands would paint every namespace red. errPct keeps the worst.
    const rate = a.edges === 1 ? a.errPct : agg.errSum / agg.weight;
    a.color = edgeColor(a.route, rate, a.expiring) + (edges.size > 1500 ? '66' : '');
    a.size = edgeWidth(a.rps) * (base > 5 ? 1.6 : 1);
    a.rps = Math.round(a.rps * 1000) / 1000;
    out.set(key, { source: agg.source, target: agg.target, attrs: a });
  }

  let found: Set<string> | undefined;
  if (find) {
    found = new Set();
    for (const id of shown) {
      const n = model.nodes.get(id)!;
      if (matches(find, nodeSubject(n, model, now))) found.add(fold(n));
    }
    for (const e of visibleEdges) {
      if (!matches(find, edgeSubject(e, model, now))) continue;
      const key = `${fold(model.nodes.get(e.s)!)}>${fold(model.nodes.get(e.t)!)}`;
      if (out.has(key)) found.add(key);
    }
  }
  return { nodes, edges: out, found, services: shown.size };
}

/**
 * Whether making `g` hold `d` changes more than `limit` nodes and edges (added
 * or dropped). Past that a fresh graph handed to sigma whole is cheaper than
 * one graph event (and one sigma update) per change.
 */
export function changesMoreThan(g: Graph, d: Display, limit: number): boolean {
  // Dropped = added − growth, so changes = 2 × added − growth.
  const growth = d.nodes.size - g.order + d.edges.size - g.size;
  if (-growth > limit) return true;
  let added = 0;
  for (const key of d.nodes.keys()) if (!g.hasNode(key) && ++added > limit) return true;
  for (const key of d.edges.keys()) if (!g.hasEdge(key) && ++added > limit) return true;
  return 2 * added - growth > limit;
}

/** Makes `g` hold exactly `d`, touching only what differs. */
export function syncGraph(g: Graph, d: Display): void {
  g.forEachEdge((key) => {
    if (!d.edges.has(key)) g.dropEdge(key);
  });
  g.forEachNode((key) => {
    if (!d.nodes.has(key)) g.dropNode(key);
  });
  for (const [key, attrs] of d.nodes) {
    if (!g.hasNode(key)) g.addNode(key, { ...attrs });
    else if (!sameAttrs(g.getNodeAttributes(key), attrs)) g.replaceNodeAttributes(key, { ...attrs });
  }
  for (const [key, e] of d.edges) {
    if (!g.hasEdge(key)) g.addDirectedEdgeWithKey(key, e.source, e.target, { ...e.attrs });
    else if (!sameAttrs(g.getEdgeAttributes(key), e.attrs)) g.replaceEdgeAttributes(key, { ...e.attrs });
  }
}

function sameAttrs(a: Record<string, unknown>, b: object): boolean {
  for (const [k, v] of Object.entries(b)) if (a[k] !== v) return false;
  return true;
}
