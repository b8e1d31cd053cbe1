// Responses that are expensive to build and asked for often (the graph at 10k
// services is megabytes of JSON): serialized once per key — the graph version
// plus the query — and gzipped once, on first demand. @fastify/compress leaves
// a body alone when it already carries a Content-Encoding.
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

interface Entry {
  json: string;
  gzip?: Buffer;
}

export class BodyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly max = 8) {}

  async reply(req: FastifyRequest, reply: FastifyReply, key: string, build: () => unknown | Promise<unknown>): Promise<FastifyReply> {
    let e = this.entries.get(key);
    if (!e) {
      e = { json: JSON.stringify(await build()) };
      this.entries.set(key, e);
      // Oldest first in a Map: drop the oldest beyond `max`.
      for (const k of this.entries.keys()) {
        if (this.entries.size <= this.max) break;
        this.entries.delete(k);
      }
    }
    reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
    if (e.json.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      e.gzip ??= gzipSync(e.json, { level: 6 });
      return reply.header('content-encoding', 'gzip').send(e.gzip);
    }
    return reply.send(e.json);
  }
}
