// Pins: single dependencies kept in a service's scope whatever the traffic
// says. Writes need the admin bearer token when one is configured.
import type { FastifyPluginAsync } from 'fastify';
import type { ServiceId } from '../../../contracts/index.ts';
import type { Analyzer } from '../../index.ts';
import { adminWrites } from '../auth.ts';
import { errorSchema, pinSchema, serviceParams } from '../schemas.ts';
import { pinView } from './policy-views.ts';
import { badRequest, notFound, serviceIdOf } from './replies.ts';

export interface PolicyDeps {
  analyzer: Analyzer;
  adminToken?: string;
}

const ID = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const str = { type: 'string' } as const;
const pinsResult = {
  type: 'object',
  properties: { service: str, pins: { type: 'array', items: pinSchema }, scope: { type: 'array', items: str } },
} as const;

export const pinRoutes: FastifyPluginAsync<PolicyDeps> = async (app, { analyzer, adminToken }) => {
  const write = adminWrites(adminToken);
  const pinsOf = (id: ServiceId) => ({
    service: id,
    pins: analyzer.pins().filter((p) => p.source === id).map(pinView),
    scope: [...analyzer.scope(id)],
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
      const id = serviceIdOf(req.params);
      if (!analyzer.inventory.service(id)) return notFound(reply, `service ${id} is not in the mesh inventory`);
      const { services, note } = req.body as { services: string[]; note?: string };
      const unknown = services.filter((d) => !analyzer.inventory.service(d));
      if (unknown.length) return badRequest(reply, `services: ${unknown.join(', ')} not in the mesh inventory; pin NAME.NAMESPACE of listed services`);
      const wanted = new Set(services);
      for (const p of analyzer.pins()) if (p.source === id && !wanted.has(p.dest)) await analyzer.unpin(id, p.dest);
      for (const d of services) await analyzer.pin(id, d, note);
      return pinsOf(id);
    },
  );

  app.delete(
    '/api/v1/services/:ns/:name/pins',
    write('Remove every pin of this service', { params: serviceParams, response: { 200: pinsResult, 401: errorSchema, 404: errorSchema } }),
    async (req, reply) => {
      const id = serviceIdOf(req.params);
      if (!analyzer.inventory.service(id)) return notFound(reply, `service ${id} is not in the mesh inventory`);
      for (const p of analyzer.pins()) if (p.source === id) await analyzer.unpin(id, p.dest);
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
      const id = serviceIdOf(req.params);
      const { dest } = req.params as { dest: string };
      if (!(await analyzer.unpin(id, dest))) return notFound(reply, `${id} has no pin to ${dest}`);
      return pinsOf(id);
    },
  );
};
