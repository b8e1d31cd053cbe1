// GET /api/v1/proxies and /api/v1/proxies/:id: what the xDS server pushed to
// each connected proxy (resources, versions sent and ACKed, the last NACK).
import type { FastifyPluginAsync } from 'fastify';
import type { ProxyStatus } from '../../../contracts/index.ts';
import type { Analyzer } from '../../index.ts';
import type { LiveBytesMeter } from '../bytes/bytes-meter.ts';
import { errorSchema, proxySchema } from '../schemas.ts';
import { notFound } from './replies.ts';

export interface ProxiesDeps {
  analyzer: Analyzer;
  bytes: LiveBytesMeter;
  xds?: { proxies(): ProxyStatus[]; proxy(id: string): ProxyStatus | undefined };
}

export const proxiesRoutes: FastifyPluginAsync<ProxiesDeps> = async (app, { analyzer, bytes, xds }) => {
  app.get(
    '/api/v1/proxies',
    { schema: { tags: ['proxies'], summary: 'Connected proxies (Envoy and proxyless gRPC) and what each was pushed', response: { 200: { type: 'array', items: proxySchema } } } },
    async () => xds?.proxies() ?? [],
  );
  app.get(
    '/api/v1/proxies/:id',
    {
      schema: {
        tags: ['proxies'],
        summary: 'One proxy by node id or workload (POD.NAMESPACE), with its config size scoped vs full',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: proxySchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const p = xds?.proxy(id);
      if (!p) return notFound(reply, `no connected proxy with node id or workload ${id}; GET /api/v1/proxies lists the connected ones`);
      const w = p.workload ? analyzer.inventory.workload(p.workload) : undefined;
      return w && p.profile === 'envoy' ? { ...p, bytes: await bytes.measure(w.id, analyzer.scope(w.service)) } : p;
    },
  );
};
