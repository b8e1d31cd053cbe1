// The service-level dependency graph as the API shows it: every inventory
// service is a node (key NAME.NAMESPACE), every observed service → service
// call an edge; filters keep the part a user asked for.
import { DirectedGraph } from 'graphology';
import { splitId, type Service, type ServiceId } from '../../contracts/index.ts';
import { isDuration, parseDuration, type Analyzer, type EdgeView } from '../index.ts';
import { pick, BadQuery, type FieldSelection } from './graph-fields.ts';

export interface GraphFilter {
  namespace?: string;
  /** NAME.NAMESPACE, or NAME (in `namespace`, or in any namespace). */
  service?: string;
  /** ISO time, or a duration back from now (`1h`, `7d`). */
  since?: string;
  includeExpired?: boolean;
}

export interface ApiEdge extends Omit<EdgeView, 'kind' | 'dest'> {
  target: ServiceId;
}

export function apiEdge(e: EdgeView): ApiEdge {
  const { kind: _kind, dest, ...rest } = e;
  return { ...rest, target: dest };
}

function sinceMs(since: string | undefined, now: number): number | undefined {
  if (since === undefined || since === '') return undefined;
  if (isDuration(since)) return now - parseDuration(since, 'since');
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new BadQuery(`since: "${since}" is neither an ISO time (2026-01-05T10:00:00Z) nor a duration back from now (1h, 7d)`);
  return t;
}

export type NodeAttributes = {
  name: string;
  namespace: string;
  client: boolean;
  workloads: number;
  inInventory: boolean;
  scope: ServiceId[];
};

/** A node's attributes: an inventory service, or one only edges still name. */
export function nodeAttributes(id: ServiceId, s: Service | undefined, scope: readonly ServiceId[]): NodeAttributes {
  const { name, namespace } = s ?? splitId(id);
  return { name, namespace, client: s ? s.ports.length === 0 : false, workloads: s?.workloads.length ?? 0, inInventory: !!s, scope: [...scope] };
}

/** What a filter keeps: services (nodes) and edges by their ends and last sighting. */
export function filterOf(f: GraphFilter, now: number): { node: (id: ServiceId) => boolean; edge: (source: ServiceId, dest: ServiceId, lastSeenMs: number) => boolean } {
  const since = sinceMs(f.since, now);
  const matchService = (id: ServiceId): boolean => {
    if (!f.service) return true;
    if (f.service.includes('.')) return id === f.service;
    const { name, namespace } = splitId(id);
    return name === f.service && (!f.namespace || namespace === f.namespace);
  };
  const inNamespace = (id: ServiceId): boolean => !f.namespace || splitId(id).namespace === f.namespace;
  return {
    node: (id) => (f.service ? matchService(id) : inNamespace(id)),
    edge: (source, dest, lastSeenMs) =>
      (since === undefined || lastSeenMs >= since) && (f.service ? matchService(source) || matchService(dest) : inNamespace(source) || inNamespace(dest)),
  };
}

/** Edges in export order: by source, then target, by code point (the same order wherever it is built). */
export function byEnds(a: { source: string; dest: string }, b: { source: string; dest: string }): number {
  return a.source < b.source ? -1 : a.source > b.source ? 1 : a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0;
}

export interface ExportNode {
  key: ServiceId;
  attributes?: Partial<NodeAttributes>;
}

export interface ExportEdge {
  key: string;
  source: ServiceId;
  target: ServiceId;
  attributes?: Partial<Omit<ApiEdge, 'source' | 'target'>>;
}

/** A node as the export sends it: the selected attributes, none at all when the selection names none. */
export function exportNode(id: ServiceId, s: Service | undefined, scope: readonly ServiceId[], fields: FieldSelection): ExportNode {
  const attributes = pick(nodeAttributes(id, s, scope), fields.nodes);
  return fields.nodes?.length === 0 ? { key: id } : { key: id, attributes };
}

export function exportEdge(e: EdgeView, fields: FieldSelection): ExportEdge {
  const { source, target, ...rest } = apiEdge(e);
  const ends = { key: `${source}>${target}`, source, target };
  return fields.edges?.length === 0 ? ends : { ...ends, attributes: pick(rest, fields.edges) };
}

export const EXPORT_OPTIONS = { type: 'directed', multi: false, allowSelfLoops: true } as const;

/**
 * The services and edges a filter keeps, in graphology's serialization, built
 * from scratch from the analyzer's plain views: DOT and GEXF use it, and it is
 * the reference the incremental JSON (graph-json.ts) must equal.
 */
export function serviceGraphExport(analyzer: Analyzer, f: GraphFilter = {}, fields: FieldSelection = { key: '' }) {
  const inv = analyzer.inventory;
  const wanted = filterOf(f, analyzer.clock.now());
  const nodes = new Map<ServiceId, ExportNode>();
  const addNode = (id: ServiceId) => {
    if (!nodes.has(id)) nodes.set(id, exportNode(id, inv.service(id), analyzer.scope(id), fields));
  };
  for (const s of inv.services) if (wanted.node(s.id)) addNode(s.id);
  const edges: ExportEdge[] = [];
  for (const e of analyzer.edges({ kind: 'service', includeExpired: f.includeExpired }).sort(byEnds)) {
    if (!wanted.edge(e.source, e.dest, Date.parse(e.lastSeen))) continue;
    addNode(e.source);
    addNode(e.dest);
    edges.push(exportEdge(e, fields));
  }
  return { options: EXPORT_OPTIONS, attributes: {}, nodes: [...nodes.values()], edges };
}

/** The filtered graph as a graphology graph (for DOT and GEXF). */
export function serviceGraph(analyzer: Analyzer, f: GraphFilter = {}): DirectedGraph {
  const sel = serviceGraphExport(analyzer, f);
  const g = new DirectedGraph({ allowSelfLoops: true });
  for (const n of sel.nodes) g.addNode(n.key, n.attributes);
  for (const e of sel.edges) g.addDirectedEdgeWithKey(e.key, e.source, e.target, e.attributes);
  return g;
}
