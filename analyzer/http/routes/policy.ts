// Pins and rules: what users add to scopes by hand. Writes need the admin
// bearer token when one is configured.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ServiceId } from '../../../contracts/index.ts';
import { validateRule, type Analyzer, type ScopeRule } from '../../index.ts';
import { adminGuard } from '../auth.ts';
import { errorSchema, pinSchema, ruleSchema, serviceParams } from '../schemas.ts';
import { pinView, ruleView } from './policy-views.ts';

export interface PolicyDeps {
  analyzer: Analyzer;
  adminToken?: string;
}

const ID = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
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
const pinsResult = {
  type: 'object',
  properties: { service: str, pins: { type: 'array', items: pinSchema }, scope: { type: 'array', items: str } },
} as const;
const rulesResult = {
  type: 'object',
  properties: { service: str, rules: { type: 'array', items: ruleSchema }, scope: { type: 'array', items: str } },
} as const;
const secured = [{ bearer: [] }];

export const policyRoutes: FastifyPluginAsync<PolicyDeps> = async (app, { analyzer, adminToken }) => {
  const guard = adminGuard(adminToken);
  const svc = (p: unknown): ServiceId => {
    const { ns, name } = p as { ns: string; name: string };
    return `${name}.${ns}`;
  };
  const missing = (reply: FastifyReply, id: string) =>
    reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `service ${id} is not in the mesh inventory` });
  const bad = (reply: FastifyReply, err: unknown) => reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: (err as Error).message });
  const pinsOf = (id: ServiceId) => ({
    service: id,
    pins: analyzer.pins().filter((p) => p.source === id).map(pinView),
    scope: [...analyzer.scope(id)],
  });
  const rulesOf = (id: ServiceId) => ({
    service: id,
    rules: analyzer.rules().filter((r) => r.source === id).map(ruleView),
    scope: [...analyzer.scope(id)],
  });
  const write = (summary: string, extra: Record<string, unknown>) => ({
    preHandler: guard,
    schema: { tags: ['policy'], summary, security: secured, ...extra },
  });

  app.put(
    '/api/v1/services/:ns/:name/pins',
    write('Replace the services pinned into this service\'s scope (kept whatever the traffic says)', {
      params: serviceParams,
      body: {
        type: 'object',
        properties: { services: { type: 'array', items: { type: 'string', pattern: ID }, uniqueItems: true }, note: str },
        required: ['services'],
        additionalProperties: false,
      },
      response: { 200: pinsResult, 400: errorSchema, 401: errorSchema, 404: errorSchema },
    }),
    async (req, reply) => {
      const id = svc(req.params);
      if (!analyzer.inventory.service(id)) return missing(reply, id);
      const { services, note } = req.body as { services: string[]; note?: string };
      const unknown = services.filter((d) => !analyzer.inventory.service(d));
      if (unknown.length) return bad(reply, new Error(`services: ${unknown.join(', ')} not in the mesh inventory; pin NAME.NAMESPACE of listed services`));
      const wanted = new Set(services);
      for (const p of analyzer.pins()) if (p.source === id && !wanted.has(p.dest)) analyzer.unpin(id, p.dest);
      for (const d of services) analyzer.pin(id, d, note);
      return pinsOf(id);
    },
  );

  app.delete(
    '/api/v1/services/:ns/:name/pins',
    write('Remove every pin of this service', { params: serviceParams, response: { 200: pinsResult, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const id = svc(req.params);
      if (!analyzer.inventory.service(id)) return missing(reply, id);
      for (const p of analyzer.pins()) if (p.source === id) analyzer.unpin(id, p.dest);
      return pinsOf(id);
    },
  );

  app.delete(
    '/api/v1/services/:ns/:name/pins/:dest',
    write('Remove one pin', {
      params: { type: 'object', properties: { ...serviceParams.properties, dest: { type: 'string', pattern: ID } }, required: ['ns', 'name', 'dest'] },
      response: { 200: pinsResult, 401: errorSchema, 404: errorSchema },
    }),
    async (req, reply) => {
      const id = svc(req.params);
      const { dest } = req.params as { dest: string };
      if (!analyzer.unpin(id, dest)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `${id} has no pin to ${dest}` });
      return pinsOf(id);
    },
  );

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
      const id = svc(req.params);
      if (!analyzer.inventory.service(id)) return missing(reply, id);
      const { rules } = req.body as { rules: Array<Omit<ScopeRule, 'source' | 'createdAt'>> };
      const next = rules.map((r) => ({ ...r, source: id }));
      try {
        for (const r of next) validateRule(r);
      } catch (err) {
        return bad(reply, err);
      }
      const keep = new Set(next.map((r) => r.id));
      for (const r of analyzer.rules()) if (r.source === id && !keep.has(r.id)) analyzer.removeRule(r.id);
      for (const r of next) analyzer.addRule(r);
      return rulesOf(id);
    },
  );

  app.delete(
    '/api/v1/services/:ns/:name/rules',
    write('Remove every rule of this service', { params: serviceParams, response: { 200: rulesResult, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const id = svc(req.params);
      if (!analyzer.inventory.service(id)) return missing(reply, id);
      for (const r of analyzer.rules()) if (r.source === id) analyzer.removeRule(r.id);
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
        return bad(reply, err);
      }
      return ruleView(analyzer.addRule(rule));
    },
  );

  app.delete(
    '/api/v1/rules/:id',
    write('Remove a rule', { params: { type: 'object', properties: { id: str }, required: ['id'] }, response: { 204: { type: 'null' }, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const { id } = req.params as { id: string };
      if (!analyzer.removeRule(id)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no rule ${id}` });
      return reply.code(204).send();
    },
  );
};

