// GET /api/v1/graph/events: server-sent events with what changed in the graph
// (new edges and their new nodes with positions, expiries, scope changes, new
// rates), so the page applies them in place instead of reloading. Each event
// carries the graph version; a page whose view is older than the first delta
// it sees reloads the view once.
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { GraphDelta, LiveGraph } from '../live-graph.ts';

const HEARTBEAT_MS = 15_000;

export const graphEventRoutes: FastifyPluginAsync<{ live: LiveGraph }> = async (app, { live }) => {
  const streams = new Set<ServerResponse>();
  const send = (delta: GraphDelta) => {
    const frame = `event: delta\nid: ${delta.version}\ndata: ${JSON.stringify(delta)}\n\n`;
    for (const res of streams) res.write(frame);
  };
  live.on('delta', send);
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS).unref();
  // Streams never end on their own: close them before the server waits for its connections.
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    live.off('delta', send);
    for (const res of streams) res.end();
    streams.clear();
  });

  app.get(
    '/api/v1/graph/events',
    { schema: { tags: ['graph'], summary: 'Server-sent events: `delta` (new edges and nodes, expired edges, scope changes, rates), each with the graph version', produces: ['text/event-stream'] } },
    async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ version: live.version })}\n\n`);
      streams.add(res);
      req.raw.on('close', () => streams.delete(res));
    },
  );
};
