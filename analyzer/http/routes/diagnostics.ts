// GET /api/v1/unresolved and /api/v1/rejected: every record that did not
// become an edge, counted and kept with samples, so nothing disappears silently.
import type { FastifyPluginAsync } from 'fastify';
import type { Analyzer } from '../../index.ts';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const limit = { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 } as const;

const unresolved = {
  type: 'object',
  properties: {
    kind: { type: 'string', enum: ['source', 'destination'] },
    key: { type: 'string', description: 'the host not in the inventory, or the caller spelling' },
    source: { type: 'string', description: 'the caller of an unresolved destination' },
    count: int,
    firstSeen: str,
    lastSeen: str,
    ref: { type: 'string', description: 'where the latest one came from' },
  },
} as const;

const rejected = {
  type: 'object',
  properties: {
    reason: str,
    count: int,
    firstAt: str,
    lastAt: str,
    samples: { type: 'array', items: { type: 'object', properties: { ref: str, detail: str, raw: str, at: str } } },
  },
} as const;

export const diagnosticsRoutes: FastifyPluginAsync<{ analyzer: Analyzer }> = async (app, { analyzer }) => {
  app.get(
    '/api/v1/unresolved',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Callers and destinations not in the inventory (external hosts, typos), most frequent first',
        querystring: { type: 'object', properties: { kind: { type: 'string', enum: ['source', 'destination'] }, limit }, additionalProperties: false },
        response: { 200: { type: 'array', items: unresolved } },
      },
    },
    async (req) => {
      const q = req.query as { kind?: string; limit: number };
      return analyzer.unresolved().filter((u) => !q.kind || u.kind === q.kind).slice(0, q.limit);
    },
  );
  app.get(
    '/api/v1/rejected',
    {
      schema: {
        tags: ['diagnostics'],
        summary: 'Unusable records by reason, with the latest raw samples and where they came from',
        querystring: { type: 'object', properties: { reason: str }, additionalProperties: false },
        response: { 200: { type: 'array', items: rejected } },
      },
    },
    async (req) => {
      const { reason } = req.query as { reason?: string };
      return analyzer.rejected().filter((r) => !reason || r.reason === reason);
    },
  );
};
