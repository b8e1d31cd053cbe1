// Responses that are expensive to build and asked for often (the graph at 10k
// services is megabytes of JSON): built once per key — the graph version plus
// the query — and gzipped once, on first demand. A builder hands back the JSON
// already serialized as pieces (JsonPieces): only the pieces that changed since
// the last answer are compressed again (gzip-pieces.ts).
// @fastify/compress leaves a body alone when it already carries a Content-Encoding.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PieceGzip } from './gzip-pieces.ts';
import type { WarmStep } from './warm.ts';

/** JSON text as pieces whose concatenation is the document. */
export class JsonPieces {
  constructor(readonly pieces: readonly string[]) {}
}

interface Entry {
  pieces: readonly string[];
  /** Kept once made (a tenth of the plain size); the plain bytes are joined from the pieces' on each answer. */
  gzip?: Buffer;
}

function length(pieces: readonly string[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

type Build = () => JsonPieces | Promise<JsonPieces>;

export class BodyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pieces = new PieceGzip();

  constructor(private readonly max = 8) {}

  /** Answers from the entry for `key`, building it first if needed; an undefined key builds every time. */
  async reply(req: FastifyRequest, reply: FastifyReply, key: string | undefined, build: Build): Promise<FastifyReply> {
    const e = (key === undefined ? undefined : this.entries.get(key)) ?? (await this.make(key, build));
    reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
    if (length(e.pieces) > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      e.gzip ??= this.pieces.gzip(e.pieces);
      return reply.header('content-encoding', 'gzip').send(e.gzip);
    }
    return reply.send(this.pieces.plain(e.pieces));
  }

  /**
   * A warm step (warm.ts) that makes the entry for `key` as a first request
   * would, then its gzip a slice at a time: a request meanwhile answers from it
   * (or builds, if the key moved on) and reuses every piece already deflated.
   */
  warm(key: () => string, build: Build): WarmStep {
    let e: Entry | undefined;
    let next = 0;
    return async (budgetMs) => {
      if (!e) {
        const k = key();
        e = this.entries.get(k) ?? (await this.make(k, build));
        return false;
      }
      next = this.pieces.prepare(e.pieces, next, performance.now() + budgetMs);
      if (next < e.pieces.length) return false;
      e.gzip ??= this.pieces.gzip(e.pieces);
      return true;
    };
  }

  /** Builds the entry for `key` and keeps it (an undefined key is not kept). */
  private async make(key: string | undefined, build: Build): Promise<Entry> {
    const e: Entry = { pieces: (await build()).pieces };
    if (key === undefined) return e;
    this.entries.set(key, e);
    // Oldest first in a Map: drop the oldest beyond `max`.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(k);
    }
    return e;
  }
}
