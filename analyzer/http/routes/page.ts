// The graph page is one self-contained HTML file (no CDN: meshes often run
// without internet access), read once at startup.
import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

const PAGE = readFileSync(new URL('../page/graph.html', import.meta.url), 'utf8');

export const pageRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(PAGE),
  );
};
