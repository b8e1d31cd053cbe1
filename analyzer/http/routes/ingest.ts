// POST /api/v1/access-logs: NDJSON in any record shape, parsed as it streams
// in (the body is never buffered whole); answers once the records are durable.
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_MAX_LINE } from '../../index.ts';
import { addResult, emptyResult, type IngestTarget, type RawInput } from '../../sources/ingest-target.ts';
import { ndjsonBatches } from '../../sources/ndjson.ts';
import { errorSchema } from '../schemas.ts';
import { badRequest } from './replies.ts';

export interface IngestDeps {
  ingest: IngestTarget;
  maxLineBytes?: number;
}

const result = {
  type: 'object',
  properties: {
    lines: { type: 'integer', description: 'non-empty lines read' },
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    unresolved: { type: 'integer' },
    duplicates: { type: 'integer' },
  },
  required: ['lines', 'accepted', 'rejected', 'unresolved', 'duplicates'],
} as const;

export const ingestRoutes: FastifyPluginAsync<IngestDeps> = async (app, deps) => {
  const maxLine = deps.maxLineBytes ?? DEFAULT_MAX_LINE;
  // This plugin's only route takes the raw stream whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.post(
    '/api/v1/access-logs',
    {
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        tags: ['ingest'],
        summary: 'Ingest access-log records, one JSON object a line (any shape of the fixture format)',
        consumes: ['application/x-ndjson'],
        response: { 200: result, 400: errorSchema, 415: errorSchema },
      },
    },
    async (req, reply) => {
      if (!req.body) return badRequest(reply, 'send access-log records as NDJSON: one JSON object a line');
      // Shippers (Fluent Bit, Vector) compress their HTTP output when asked to.
      const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
      const decoders: Record<string, (() => NodeJS.ReadWriteStream) | undefined> = { gzip: createGunzip, deflate: createInflate, identity: undefined };
      if (!(encoding in decoders)) {
        return reply.code(415).send({ statusCode: 415, error: 'Unsupported Media Type', message: `content-encoding ${encoding}: send identity, gzip or deflate` });
      }
      const decode = decoders[encoding];
      const body = decode ? (req.body as Readable).pipe(decode()) : (req.body as Readable);
      const total = { lines: 0, ...emptyResult() };
      try {
        for await (const lines of ndjsonBatches(body as AsyncIterable<Buffer>, { maxLineBytes: maxLine })) {
          const inputs: RawInput[] = lines.map((l) => ({
            value: l.text,
            ref: `http:${req.id}:${l.line}`,
            rejectReason: l.tooLong === undefined ? undefined : 'too-large',
          }));
          total.lines += inputs.length;
          addResult(total, deps.ingest.ingest(inputs));
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!code.startsWith('Z_')) throw err;
        return badRequest(reply, `content-encoding ${encoding}: the body does not decode (${(err as Error).message}) after ${total.lines} lines, which were ingested`);
      } finally {
        // Even a body cut short leaves what it delivered counted and durable.
        deps.ingest.flush();
      }
      return total;
    },
  );
};
