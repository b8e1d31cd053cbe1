// GET /api/v1/graph (graphology JSON), /api/v1/graph.dot, /api/v1/graph.gexf.
// A bad filter throws FilterError (statusCode 400), which fastify answers.
import type { FastifyPluginAsync } from 'fastify';
import type { Analyzer } from '../../index.ts';
import { toDot, toGexf } from '../graph-export.ts';
import { serviceGraph, type GraphFilter } from '../graph-view.ts';
import { errorSchema, graphSchema } from '../schemas.ts';

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

export const graphRoutes: FastifyPluginAsync<{ analyzer: Analyzer }> = async (app, { analyzer }) => {
  const doc = (summary: string, type: string) => ({
    tags: ['graph'],
    summary,
    querystring,
    produces: [type],
    response: { 400: errorSchema },
  });
  const graph = (query: unknown) => serviceGraph(analyzer, query as GraphFilter);

  app.get(
    '/api/v1/graph',
    { schema: { ...doc('The service dependency graph (graphology serialization)', 'application/json'), response: { 200: graphSchema, 400: errorSchema } } },
    async (req) => graph(req.query).export(),
  );
  app.get('/api/v1/graph.dot', { schema: doc('The graph as Graphviz DOT', 'text/vnd.graphviz') }, async (req, reply) =>
    reply.type('text/vnd.graphviz; charset=utf-8').send(toDot(graph(req.query), (a) => Number(a.count ?? 0))),
  );
  app.get('/api/v1/graph.gexf', { schema: doc('The graph as GEXF (Gephi)', 'application/gexf+xml') }, async (req, reply) =>
    reply.type('application/gexf+xml; charset=utf-8').send(toGexf(graph(req.query))),
  );
};
