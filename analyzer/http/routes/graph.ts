// GET /api/v1/graph (graphology JSON), /api/v1/graph.dot, /api/v1/graph.gexf.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Analyzer } from '../../index.ts';
import { toDot, toGexf } from '../graph-export.ts';
import { FilterError, serviceGraph, type GraphFilter } from '../graph-view.ts';
import { errorSchema, graphSchema } from '../schemas.ts';
import { badRequest } from './replies.ts';

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
  const build = (filter: GraphFilter, reply: FastifyReply) => {
    try {
      return serviceGraph(analyzer, filter);
    } catch (err) {
      if (err instanceof FilterError) {
        void badRequest(reply, err.message);
        return undefined;
      }
      throw err;
    }
  };
  const doc = (summary: string, type: string) => ({
    tags: ['graph'],
    summary,
    querystring,
    produces: [type],
    response: { 400: errorSchema },
  });

  app.get(
    '/api/v1/graph',
    { schema: { ...doc('The service dependency graph (graphology serialization)', 'application/json'), response: { 200: graphSchema, 400: errorSchema } } },
    async (req, reply) => build(req.query as GraphFilter, reply)?.export() ?? reply,
  );
  app.get('/api/v1/graph.dot', { schema: doc('The graph as Graphviz DOT', 'text/vnd.graphviz') }, async (req, reply) => {
    const g = build(req.query as GraphFilter, reply);
    return g ? reply.type('text/vnd.graphviz; charset=utf-8').send(toDot(g, (a) => Number(a.count ?? 0))) : reply;
  });
  app.get('/api/v1/graph.gexf', { schema: doc('The graph as GEXF (Gephi)', 'application/gexf+xml') }, async (req, reply) => {
    const g = build(req.query as GraphFilter, reply);
    return g ? reply.type('application/gexf+xml; charset=utf-8').send(toGexf(g)) : reply;
  });
};
