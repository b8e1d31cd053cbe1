// GET /api/v1/graph (graphology JSON), /api/v1/graph.dot, /api/v1/graph.gexf,
// and /api/v1/graph/view (what the page draws: positions, rates, TTLs).
// JSON answers are cached per graph version and query (see cached-body.ts).
// A bad filter throws FilterError (statusCode 400), which fastify answers.
import type { FastifyPluginAsync } from 'fastify';
import type { Analyzer } from '../../index.ts';
import { BodyCache } from '../cached-body.ts';
import { toDot, toGexf } from '../graph-export.ts';
import { serviceGraph, serviceGraphExport, type GraphFilter } from '../graph-view.ts';
import type { LiveGraph } from '../live-graph.ts';
import { errorSchema, graphSchema, graphViewSchema } from '../schemas.ts';

/** How stale the counts of a cached /api/v1/graph may be. */
const COUNTS_MS = 30_000;

const querystring = {
  type: 'object',
  properties: {
    namespace: { type: 'string', description: 'only edges from or into this namespace' },
    service: { type: 'string', description: 'only edges from or into this service (NAME.NAMESPACE, or NAME)' },
    since: { type: 'string', description: 'only edges seen since: an ISO time, or a duration back from now (1h, 7d)' },
    includeExpired: { type: 'boolean', default: false, description: 'also edges that left their scope after --dependency-ttl' },
  },
  additionalProperties: false,
} as const;

export const graphRoutes: FastifyPluginAsync<{ analyzer: Analyzer; live: LiveGraph }> = async (app, { analyzer, live }) => {
  const doc = (summary: string, type: string) => ({
    tags: ['graph'],
    summary,
    querystring,
    produces: [type],
    response: { 400: errorSchema },
  });
  const graph = (query: unknown) => serviceGraph(analyzer, query as GraphFilter);
  const cache = new BodyCache();
  // Counts in a cached export lag by at most COUNTS_MS; a new edge, expiry or scope change shows at once.
  // A relative `since` moves with the clock: such answers are not cached.
  const cacheKey = (query: Record<string, unknown>) =>
    `${live.structureVersion}|${Math.floor(analyzer.clock.now() / COUNTS_MS)}|${analyzer.inventory.version}|${JSON.stringify(query)}`;

  app.get(
    '/api/v1/graph',
    { schema: { ...doc('The service dependency graph (graphology serialization)', 'application/json'), response: { 200: graphSchema, 400: errorSchema } } },
    async (req, reply) => {
      const query = req.query as GraphFilter;
      if (query.since) return serviceGraphExport(analyzer, query);
      return cache.reply(req, reply, cacheKey(query as Record<string, unknown>), () => serviceGraphExport(analyzer, query));
    },
  );
  app.get(
    '/api/v1/graph/view',
    {
      schema: {
        tags: ['graph'],
        summary: 'What the graph page draws: every service with its position (stable as edges arrive), every edge with rates, TTL, gateway vs direct, pins',
        response: { 200: graphViewSchema },
      },
    },
    async (req, reply) => {
      await live.layout.ready();
      return cache.reply(req, reply, `view|${live.version}|${analyzer.inventory.version}`, () => live.view());
    },
  );
  app.get('/api/v1/graph.dot', { schema: doc('The graph as Graphviz DOT', 'text/vnd.graphviz') }, async (req, reply) =>
    reply.type('text/vnd.graphviz; charset=utf-8').send(toDot(graph(req.query), (a) => Number(a.count ?? 0))),
  );
  app.get('/api/v1/graph.gexf', { schema: doc('The graph as GEXF (Gephi)', 'application/gexf+xml') }, async (req, reply) =>
    reply.type('application/gexf+xml; charset=utf-8').send(toGexf(graph(req.query))),
  );
};
