// GET /api/v1/graph (graphology JSON), /api/v1/graph.dot, /api/v1/graph.gexf,
// and /api/v1/graph/view (what the page draws: positions, rates, TTLs).
// JSON answers are cached per graph version and query (see cached-body.ts);
// /api/v1/graph is rebuilt incrementally between versions (graph-json.ts).
// A bad filter or field throws BadQuery (statusCode 400), which fastify answers.
import type { FastifyPluginAsync } from 'fastify';
import type { Analyzer } from '../../index.ts';
import { BodyCache } from '../cached-body.ts';
import { toDot, toGexf } from '../graph-export.ts';
import { parseFields, VALID_FIELDS } from '../graph-fields.ts';
import { GraphJson } from '../graph-json.ts';
import { serviceGraph, type GraphFilter } from '../graph-view.ts';
import type { LiveGraph, ViewEncoding } from '../live-graph.ts';
import { errorSchema, graphSchema, graphViewSchema } from '../schemas.ts';
import type { Warmer } from '../warm.ts';

/** How stale the counts of a cached /api/v1/graph may be. */
export const COUNTS_MS = 30_000;
/** Field selections kept built (each holds its own serialized entities). */
const SELECTIONS = 4;
/** Renewal of moved counts: a slice of at most RENEW_SLICE_MS every RENEW_EVERY_MS, for RENEW_WHILE_ASKED_MS after the last request. */
const RENEW_EVERY_MS = 1000;
const RENEW_SLICE_MS = 25;
const RENEW_WHILE_ASKED_MS = 5 * 60_000;

const filters = {
  namespace: { type: 'string', description: 'only edges from or into this namespace' },
  service: { type: 'string', description: 'only edges from or into this service (NAME.NAMESPACE, or NAME)' },
  since: { type: 'string', description: 'only edges seen since: an ISO time, or a duration back from now (1h, 7d)' },
  includeExpired: { type: 'boolean', default: false, description: 'also edges that left their scope after --dependency-ttl' },
} as const;

const querystring = { type: 'object', properties: filters, additionalProperties: false } as const;

const graphQuery = {
  type: 'object',
  properties: {
    ...filters,
    fields: {
      type: 'string',
      description:
        'comma-separated attributes to send, e.g. nodes.namespace,edges.count,edges.active; an entity no field names keeps all its attributes, ' +
        `keys, sources and targets are always sent (naming only them sends no attributes). Valid: ${VALID_FIELDS.join(', ')}`,
    },
  },
  additionalProperties: false,
} as const;

export const graphRoutes: FastifyPluginAsync<{ analyzer: Analyzer; live: LiveGraph; warmer?: Warmer }> = async (app, { analyzer, live, warmer }) => {
  const doc = (summary: string, type: string) => ({
    tags: ['graph'],
    summary,
    querystring,
    produces: [type],
    response: { 400: errorSchema },
  });
  const graph = (query: unknown) => serviceGraph(analyzer, query as GraphFilter);
  const cache = new BodyCache();
  const builders = new Map<string, GraphJson>();
  let askedAt = -Infinity;
  const builder = (fields: ReturnType<typeof parseFields>, asked = true): GraphJson => {
    if (asked) askedAt = performance.now();
    let b = builders.get(fields.key);
    if (b) builders.delete(fields.key);
    else b = new GraphJson(analyzer, fields, COUNTS_MS);
    builders.set(fields.key, b);
    for (const k of builders.keys()) if (builders.size > SELECTIONS) builders.delete(k);
    return b;
  };
  // While someone asks for the graph, edges whose counts moved are renewed a slice at a time, so the
  // answer after the counts' lag runs out finds them done (a busy 10k mesh: 30k edges every 30 s).
  const renewal = setInterval(() => {
    if (performance.now() - askedAt > RENEW_WHILE_ASKED_MS) return;
    for (const b of builders.values()) b.renew(RENEW_SLICE_MS);
  }, RENEW_EVERY_MS).unref();
  app.addHook('onClose', async () => clearInterval(renewal));

  app.get(
    '/api/v1/graph',
    { schema: { ...doc('The service dependency graph (graphology serialization)', 'application/json'), querystring: graphQuery, response: { 200: graphSchema, 400: errorSchema } } },
    async (req, reply) => {
      const { fields: raw, ...filter } = req.query as GraphFilter & { fields?: string };
      const fields = parseFields(raw);
      const build = () => builder(fields).build(filter);
      // A relative `since` moves with the clock: such answers are not cached (the entities still are).
      if (filter.since) return cache.reply(req, reply, undefined, build);
      // Counts in a cached export lag by at most COUNTS_MS; a new edge, expiry or scope change shows at once.
      return cache.reply(req, reply, graphKey(fields, filter), build);
    },
  );
  const graphKey = (fields: ReturnType<typeof parseFields>, filter: GraphFilter) =>
    `${live.structureVersion}|${Math.floor(analyzer.clock.now() / COUNTS_MS)}|${analyzer.inventory.version}|${fields.key}|${JSON.stringify(filter)}`;
  const viewKey = (encoding: ViewEncoding) => `view|${encoding}|${live.version}|${analyzer.inventory.version}`;
  if (warmer) {
    // What a first visit asks: the page's view (in rows), then the whole graph as GET /api/v1/graph (no query) is answered.
    for (const step of live.prepare('rows')) warmer.add(step);
    warmer.add(cache.warm(() => viewKey('rows'), () => live.view('rows')));
    const fields = parseFields(undefined);
    const plain: GraphFilter = { includeExpired: false };
    for (const step of builder(fields, false).prepare()) warmer.add(step);
    warmer.add(cache.warm(() => graphKey(fields, plain), () => builder(fields, false).build(plain)));
  }
  app.get(
    '/api/v1/graph/view',
    {
      schema: {
        tags: ['graph'],
        summary: 'What the graph page draws: every service with its position (stable as edges arrive), every edge with rates, TTL, gateway vs direct, pins',
        querystring: {
          type: 'object',
          properties: {
            encoding: {
              type: 'string',
              enum: ['objects', 'rows'],
              default: 'objects',
              description:
                'objects: the GraphView below; rows: each node and edge as an array in a fixed order, an edge naming its ends by index in nodes ' +
                '(a third of the bytes; what the page loads; the order is in analyzer/http/view-rows.ts)',
            },
          },
          additionalProperties: false,
        },
        response: { 200: graphViewSchema },
      },
    },
    async (req, reply) => {
      const { encoding } = req.query as { encoding: ViewEncoding };
      await live.layout.ready();
      return cache.reply(req, reply, viewKey(encoding), () => live.view(encoding));
    },
  );
  app.get('/api/v1/graph.dot', { schema: doc('The graph as Graphviz DOT', 'text/vnd.graphviz') }, async (req, reply) =>
    reply.type('text/vnd.graphviz; charset=utf-8').send(toDot(graph(req.query), (a) => Number(a.count ?? 0))),
  );
  app.get('/api/v1/graph.gexf', { schema: doc('The graph as GEXF (Gephi)', 'application/gexf+xml') }, async (req, reply) =>
    reply.type('application/gexf+xml; charset=utf-8').send(toGexf(graph(req.query))),
  );
};
