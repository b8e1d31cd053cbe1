// Rules: a whole namespace, or every service whose workloads carry some
// labels, added to the scopes of the callers a rule names. Writes need the
// admin bearer token when one is configured.
import type { FastifyPluginAsync } from 'fastify';
import type { ServiceId } from '../../../contracts/index.ts';
import { validateRule, type ScopeRule } from '../../index.ts';
import { adminWrites } from '../auth.ts';
import { errorSchema, ruleSchema, serviceParams } from '../schemas.ts';
import type { PolicyDeps } from './pins.ts';
import { ruleView } from './policy-views.ts';
import { badRequest, notFound, serviceIdOf } from './replies.ts';

const str = { type: 'string' } as const;
const ruleBody = {
  type: 'object',
  properties: {
    namespace: { type: 'string', description: 'add every service of this namespace' },
    selector: { type: 'object', additionalProperties: { type: 'string' }, description: 'add every service with a workload carrying all these labels' },
    note: str,
  },
  additionalProperties: false,
} as const;
const rulesResult = {
  type: 'object',
  properties: { service: str, rules: { type: 'array', items: ruleSchema }, scope: { type: 'array', items: str } },
} as const;

export const ruleRoutes: FastifyPluginAsync<PolicyDeps> = async (app, { analyzer, adminToken }) => {
  const write = adminWrites(adminToken);
  const rulesOf = (id: ServiceId) => ({
    service: id,
    rules: analyzer.rules().filter((r) => r.source === id).map(ruleView),
    scope: [...analyzer.scope(id)],
  });

  app.put(
    '/api/v1/services/:ns/:name/rules',
    write('Replace the rules of this service (each adds a namespace or a label selector to its scope)', {
      params: serviceParams,
      body: {
        type: 'object',
        properties: {
          rules: { type: 'array', items: { ...ruleBody, properties: { id: str, ...ruleBody.properties }, required: ['id'] } },
        },
        required: ['rules'],
        additionalProperties: false,
      },
      response: { 200: rulesResult, 400: errorSchema, 401: errorSchema, 404: errorSchema },
    }),
    async (req, reply) => {
      const id = serviceIdOf(req.params);
      if (!analyzer.inventory.service(id)) return notFound(reply, `service ${id} is not in the mesh inventory`);
      const { rules } = req.body as { rules: Array<Omit<ScopeRule, 'source' | 'createdAt'>> };
      const next = rules.map((r) => ({ ...r, source: id }));
      try {
        for (const r of next) validateRule(r);
      } catch (err) {
        return badRequest(reply, (err as Error).message);
      }
      const keep = new Set(next.map((r) => r.id));
      for (const r of analyzer.rules()) if (r.source === id && !keep.has(r.id)) await analyzer.removeRule(r.id);
      for (const r of next) await analyzer.addRule(r);
      return rulesOf(id);
    },
  );

  app.delete(
    '/api/v1/services/:ns/:name/rules',
    write('Remove every rule of this service', { params: serviceParams, response: { 200: rulesResult, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const id = serviceIdOf(req.params);
      if (!analyzer.inventory.service(id)) return notFound(reply, `service ${id} is not in the mesh inventory`);
      for (const r of analyzer.rules()) if (r.source === id) await analyzer.removeRule(r.id);
      return rulesOf(id);
    },
  );

  app.get(
    '/api/v1/rules',
    { schema: { tags: ['policy'], summary: 'Every rule, including ones for "*" and "*.NAMESPACE"', response: { 200: { type: 'array', items: ruleSchema } } } },
    async () => analyzer.rules().map(ruleView),
  );

  app.put(
    '/api/v1/rules/:id',
    write('Add or replace a rule by id; source may be a service, "*" or "*.NAMESPACE"', {
      params: { type: 'object', properties: { id: str }, required: ['id'] },
      body: { ...ruleBody, properties: { source: str, ...ruleBody.properties }, required: ['source'] },
      response: { 200: ruleSchema, 400: errorSchema, 401: errorSchema },
    }),
    async (req, reply) => {
      const rule = { ...(req.body as Omit<ScopeRule, 'id' | 'createdAt'>), id: (req.params as { id: string }).id };
      try {
        validateRule(rule);
      } catch (err) {
        return badRequest(reply, (err as Error).message);
      }
      return ruleView(await analyzer.addRule(rule));
    },
  );

  app.delete(
    '/api/v1/rules/:id',
    write('Remove a rule', { params: { type: 'object', properties: { id: str }, required: ['id'] }, response: { 204: { type: 'null' }, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!(await analyzer.removeRule(id))) return notFound(reply, `no rule ${id}; GET /api/v1/rules lists the rules by id`);
      return reply.code(204).send();
    },
  );
};
