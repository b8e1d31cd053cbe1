// GET /api/v1/services and /api/v1/services/:ns/:name: each service with its
// scope, and one service in full (edges both ways, pins, rules, config bytes).
import type { FastifyPluginAsync } from 'fastify';
import type { ProxyStatus, Service } from '../../../contracts/index.ts';
import type { Analyzer, EdgeView } from '../../index.ts';
import type { LiveBytesMeter } from '../bytes/bytes-meter.ts';
import { BodyCache, JsonPieces } from '../cached-body.ts';
import { ArrayRuns, FragmentCache } from '../json-fragments.ts';
import type { LiveGraph } from '../live-graph.ts';
import { apiEdge } from '../graph-view.ts';
import { edgeSchema, errorSchema, pinSchema, proxyBytesSchema, ruleSchema, scopeReasonSchema, serviceParams } from '../schemas.ts';
import { pinView, rulesFor, ruleView } from './policy-views.ts';
import { notFound, serviceIdOf } from './replies.ts';
import { sliced, type Warmer } from '../warm.ts';

export interface ServicesDeps {
  analyzer: Analyzer;
  bytes: LiveBytesMeter;
  proxies: () => ProxyStatus[];
  /** Its version keys the cached list. */
  live: LiveGraph;
  /** Builds the whole list ahead of the first request. */
  warmer?: Warmer;
}

const listQuery = {
  type: 'object',
  properties: {
    namespace: { type: 'string', description: 'only services of this namespace' },
    offset: { type: 'integer', minimum: 0, default: 0, description: 'skip this many (inventory order)' },
    limit: { type: 'integer', minimum: 1, description: 'at most this many; x-total-count has the number of matches' },
  },
  additionalProperties: false,
} as const;

interface ListQuery {
  namespace?: string;
  offset: number;
  limit?: number;
}

const str = { type: 'string' } as const;
const summary = {
  type: 'object',
  properties: {
    id: str,
    name: str,
    namespace: str,
    client: { type: 'boolean', description: 'no ports: only calls others' },
    ports: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' }, targetPort: { type: 'integer' }, protocol: str } } },
    workloads: { type: 'array', items: str },
    scope: { type: 'array', items: str },
    callers: { type: 'integer', description: 'services calling it (edges in scope)' },
    dependencies: { type: 'integer', description: 'services it calls (edges in scope)' },
  },
  required: ['id', 'name', 'namespace', 'scope'],
} as const;

const detail = {
  type: 'object',
  properties: {
    ...summary.properties,
    pins: { type: 'array', items: pinSchema },
    rules: { type: 'array', items: ruleSchema },
    why: {
      type: 'array',
      description: 'each scope entry with every reason it is there: an edge in scope (who reported it, last seen, route), a pin, or a rule that matched it',
      items: { type: 'object', properties: { dest: str, reasons: { type: 'array', items: scopeReasonSchema } }, required: ['dest', 'reasons'] },
    },
    out: { type: 'array', items: edgeSchema },
    in: { type: 'array', items: edgeSchema },
    proxies: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...proxyBytesSchema.properties,
          connected: { type: 'array', items: str },
          xds: {
            type: 'array',
            description: 'each connected proxy: ACK when it acknowledged every type it was sent, NACK when it refused the latest, else pending',
            items: { type: 'object', properties: { nodeId: str, state: { type: 'string', enum: ['ACK', 'NACK', 'pending'] }, nack: str } },
          },
        },
      },
    },
  },
  required: [...summary.required, 'pins', 'rules', 'why', 'out', 'in', 'proxies'],
} as const;

/** Whether a proxy took what it was last sent. */
function ackState(p: ProxyStatus): { nodeId: string; state: 'ACK' | 'NACK' | 'pending'; nack?: string } {
  const types = Object.values(p.types);
  const refused = types.find((t) => t.lastNack && t.versionSent !== undefined && t.lastNack.version === t.versionSent && t.versionAcked !== t.versionSent);
  if (refused) return { nodeId: p.nodeId, state: 'NACK', nack: refused.lastNack!.message };
  const pending = types.some((t) => t.versionSent !== undefined && t.versionAcked !== t.versionSent);
  return { nodeId: p.nodeId, state: pending ? 'pending' : 'ACK' };
}

interface Counts {
  callers: Map<string, number>;
  dependencies: Map<string, number>;
}

/** Callers and dependencies per service, over service-level edges in scope. */
function countEdges(edges: Iterable<{ source: string; dest: string; active: boolean }>): Counts {
  const c: Counts = { callers: new Map(), dependencies: new Map() };
  for (const e of edges) {
    if (!e.active) continue;
    c.callers.set(e.dest, (c.callers.get(e.dest) ?? 0) + 1);
    c.dependencies.set(e.source, (c.dependencies.get(e.source) ?? 0) + 1);
  }
  return c;
}

export const servicesRoutes: FastifyPluginAsync<ServicesDeps> = async (app, deps) => {
  const { analyzer } = deps;
  const cache = new BodyCache();
  // Each service's JSON, re-serialized only when its entry, scope or counts changed.
  const fragments = new FragmentCache<string>();
  const runs = new ArrayRuns();
  const summarize = (s: Service, counts: Counts) => {
    return {
      id: s.id,
      name: s.name,
      namespace: s.namespace,
      client: s.ports.length === 0,
      ports: s.ports,
      workloads: s.workloads.map((w) => w.id),
      scope: [...analyzer.scope(s.id)],
      callers: counts.callers.get(s.id) ?? 0,
      dependencies: counts.dependencies.get(s.id) ?? 0,
    };
  };

  app.get(
    '/api/v1/services',
    {
      schema: {
        tags: ['services'],
        summary: 'Every service of the inventory with its scope (pages with offset and limit)',
        querystring: listQuery,
        response: { 200: { type: 'array', items: summary } },
      },
    },
    async (req, reply) => {
      const q = req.query as ListQuery;
      reply.header('x-total-count', String(matching(q).length));
      return cache.reply(req, reply, listKey(q), () => list(q));
    },
  );
  // Scopes and caller/dependency counts change only with the graph's structure.
  const listKey = (q: ListQuery) => `${deps.live.structureVersion}|${analyzer.inventory.version}|${q.namespace ?? ''}|${q.offset}|${q.limit ?? ''}`;
  const matching = (q: ListQuery) => (q.namespace ? analyzer.inventory.services.filter((s) => s.namespace === q.namespace) : analyzer.inventory.services);
  const fragment = (s: Service, counts: Counts) =>
    fragments.get(s.id, s.id, [s, analyzer.scope(s.id), counts.callers.get(s.id), counts.dependencies.get(s.id)], undefined, () => summarize(s, counts));
  const list = (q: ListQuery): JsonPieces => {
    const all = matching(q);
    const counts = countEdges(deps.live.serviceEdges());
    const whole = all.length === analyzer.inventory.services.length && q.offset === 0 && q.limit === undefined;
    fragments.begin();
    const frags = all.slice(q.offset, q.limit === undefined ? undefined : q.offset + q.limit).map((s) => fragment(s, counts));
    if (whole) fragments.end();
    const pieces = ['['];
    (whole ? runs : new ArrayRuns()).pieces(frags, pieces);
    pieces.push(']');
    return new JsonPieces(pieces);
  };
  if (deps.warmer) {
    // The whole list, as GET /api/v1/services (no query) asks it: each service serialized a slice at a time, then gzipped.
    let counts: Counts | undefined;
    deps.warmer.add(sliced(() => analyzer.inventory.services, (s) => fragment(s, (counts ??= countEdges(deps.live.serviceEdges())))));
    const q: ListQuery = { offset: 0 };
    deps.warmer.add(cache.warm(() => listKey(q), () => list(q)));
  }

  app.get(
    '/api/v1/services/:ns/:name',
    {
      schema: {
        tags: ['services'],
        summary: 'One service: its scope, pins and rules, edges in and out with stats, config bytes of its proxies',
        params: serviceParams,
        response: { 200: detail, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const id = serviceIdOf(req.params);
      const s = analyzer.inventory.service(id);
      if (!s) return notFound(reply, `service ${id} is not in the mesh inventory`);
      const own = analyzer.edgesOf(id);
      const edges = [...own.out, ...own.in];
      const scope = analyzer.scope(id);
      const connected = deps.proxies();
      return {
        ...summarize(s, countEdges(edges.filter((e) => e.source === id || e.dest === id))),
        pins: analyzer.pins().filter((p) => p.source === id).map(pinView),
        rules: rulesFor(analyzer.rules(), s).map(ruleView),
        why: analyzer.scopeWhy(id),
        out: own.out.map(apiEdge),
        in: own.in.map(apiEdge),
        proxies: await Promise.all(
          s.workloads.map(async (w) => ({
            ...(await deps.bytes.measure(w.id, scope)),
            connected: connected.filter((p) => p.workload === w.id).map((p) => p.nodeId),
            xds: connected.filter((p) => p.workload === w.id).map(ackState),
          })),
        ),
      };
    },
  );
};
