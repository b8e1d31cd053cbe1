import type { FastifyPluginAsync } from 'fastify';

export interface HealthDeps {
  /** Why the analyzer cannot serve yet (graph not restored, xDS not listening), or undefined when ready. */
  notReady(): string | undefined;
}

const status = { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } }, required: ['status'] } as const;

export const healthRoutes: FastifyPluginAsync<HealthDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { tags: ['health'], summary: 'The process is alive', response: { 200: status } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['health'], summary: 'The graph is restored and every listener is up', response: { 200: status, 503: status } } },
    async (_req, reply) => {
      const reason = deps.notReady();
      return reason ? reply.code(503).send({ status: 'not ready', reason }) : { status: 'ready' };
    },
  );
};
