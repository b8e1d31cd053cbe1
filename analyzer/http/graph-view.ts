// The service-level dependency graph as the API shows it: every inventory
// service is a node (key NAME.NAMESPACE), every observed service → service
// call an edge; filters keep the part a user asked for.
import { DirectedGraph } from 'graphology';
import { splitId, type ServiceId } from '../../contracts/index.ts';
import { isDuration, parseDuration, type Analyzer, type EdgeView } from '../index.ts';

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

/** A filter the caller got wrong: fastify answers it 400 with this message. */
class FilterError extends Error {
  readonly statusCode = 400;
}

export function apiEdge(e: EdgeView): ApiEdge {
  const { kind: _kind, dest, ...rest } = e;
  return { ...rest, target: dest };
}

function sinceMs(since: string | undefined, now: number): number | undefined {
  if (since === undefined || since === '') return undefined;
  if (isDuration(since)) return now - parseDuration(since, 'since');
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new FilterError(`since: "${since}" is neither an ISO time (2026-01-05T10:00:00Z) nor a duration back from now (1h, 7d)`);
  return t;
}

export function serviceGraph(analyzer: Analyzer, f: GraphFilter = {}): DirectedGraph {
  const inv = analyzer.inventory;
  const scopes = analyzer.scopes();
  const since = sinceMs(f.since, analyzer.clock.now());
  const matchService = (id: ServiceId): boolean => {
    if (!f.service) return true;
    if (f.service.includes('.')) return id === f.service;
    const { name, namespace } = splitId(id);
    return name === f.service && (!f.namespace || namespace === f.namespace);
  };
  const inNamespace = (id: ServiceId): boolean => !f.namespace || splitId(id).namespace === f.namespace;
  const nodeWanted = (id: ServiceId): boolean => (f.service ? matchService(id) : inNamespace(id));
  const edgeWanted = (e: EdgeView): boolean =>
    (since === undefined || Date.parse(e.lastSeen) >= since) &&
    (f.service ? matchService(e.source) || matchService(e.dest) : inNamespace(e.source) || inNamespace(e.dest));

  const g = new DirectedGraph({ allowSelfLoops: true });
  const addNode = (id: ServiceId) => {
    if (g.hasNode(id)) return;
    const s = inv.service(id);
    const { name, namespace } = s ?? splitId(id);
    g.addNode(id, {
      name,
      namespace,
      client: s ? s.ports.length === 0 : false,
      workloads: s?.workloads.length ?? 0,
      inInventory: !!s,
      scope: [...(scopes.get(id) ?? [])],
    });
  };
  for (const s of inv.services) if (nodeWanted(s.id)) addNode(s.id);
  for (const e of analyzer.edges({ kind: 'service', includeExpired: f.includeExpired })) {
    if (!edgeWanted(e)) continue;
    addNode(e.source);
    addNode(e.dest);
    const { source, target, ...attrs } = apiEdge(e);
    g.addDirectedEdgeWithKey(`${source}>${target}`, source, target, attrs);
  }
  return g;
}
