// GET /api/v1/services and /api/v1/services/:ns/:name: each service with its
// scope, and one service in full (edges both ways, pins, rules, config bytes).
import type { FastifyPluginAsync } from 'fastify';
import type { ProxyStatus, Service } from '../../../contracts/index.ts';
import type { Analyzer, EdgeView } from '../../index.ts';
import type { LiveBytesMeter } from '../bytes-meter.ts';
import { apiEdge } from '../graph-view.ts';
import { edgeSchema, errorSchema, pinSchema, proxyBytesSchema, ruleSchema, serviceParams } from '../schemas.ts';
import { pinView, rulesFor, ruleView } from './policy-views.ts';
import { notFound, serviceIdOf } from './replies.ts';

export interface ServicesDeps {
  analyzer: Analyzer;
  bytes: LiveBytesMeter;
  proxies: () => ProxyStatus[];
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
    out: { type: 'array', items: edgeSchema },
    in: { type: 'array', items: edgeSchema },
    proxies: {
      type: 'array',
      items: { type: 'object', properties: { ...proxyBytesSchema.properties, connected: { type: 'array', items: str } } },
    },
  },
  required: [...summary.required, 'pins', 'rules', 'out', 'in', 'proxies'],
} as const;

export const servicesRoutes: FastifyPluginAsync<ServicesDeps> = async (app, deps) => {
  const { analyzer } = deps;
  const summarize = (s: Service, edges: EdgeView[]) => {
    return {
      id: s.id,
      name: s.name,
      namespace: s.namespace,
      client: s.ports.length === 0,
      ports: s.ports,
      workloads: s.workloads.map((w) => w.id),
      scope: [...analyzer.scope(s.id)],
      callers: edges.filter((e) => e.dest === s.id).length,
      dependencies: edges.filter((e) => e.source === s.id).length,
    };
  };

  app.get(
    '/api/v1/services',
    { schema: { tags: ['services'], summary: 'Every service of the inventory with its scope', response: { 200: { type: 'array', items: summary } } } },
    async () => {
      const edges = analyzer.edges({ kind: 'service' });
      return analyzer.inventory.services.map((s) => summarize(s, edges));
    },
  );

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
      const edges = analyzer.edges({ kind: 'service', includeExpired: true });
      const scope = analyzer.scope(id);
      const connected = deps.proxies();
      return {
        ...summarize(s, edges.filter((e) => e.active)),
        pins: analyzer.pins().filter((p) => p.source === id).map(pinView),
        rules: rulesFor(analyzer.rules(), s).map(ruleView),
        out: edges.filter((e) => e.source === id).map(apiEdge),
        in: edges.filter((e) => e.dest === id).map(apiEdge),
        proxies: s.workloads.map((w) => ({
          ...deps.bytes.measure(w.id, scope),
          connected: connected.filter((p) => p.workload === w.id).map((p) => p.nodeId),
        })),
      };
    },
  );
};
