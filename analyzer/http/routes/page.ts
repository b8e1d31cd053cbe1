// The graph page at `/` and its bundled assets (see page-assets.ts). Nothing is
// loaded from a CDN: meshes often run without internet access.
import type { FastifyPluginAsync } from 'fastify';
import { pageAssets } from '../page-assets.ts';

export const pageRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    const { html } = await pageAssets();
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });
  app.get('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    const { files } = await pageAssets();
    const f = files.get((req.params as { file: string }).file);
    if (!f) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such asset; load / for the current ones' });
    return reply.type(f.type).header('cache-control', 'public, max-age=31536000, immutable').send(f.body);
  });
};
