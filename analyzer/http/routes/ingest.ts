// POST /api/v1/access-logs: NDJSON in any record shape, parsed as it streams
// in (the body is never buffered whole); answers once the records are durable.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { DEFAULT_MAX_LINE } from '../../index.ts';
import { addResult, emptyResult, type IngestTarget, type RawInput } from '../../sources/ingest-target.ts';
import { ndjsonBatches } from '../../sources/ndjson.ts';

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
        response: { 200: result },
      },
    },
    async (req) => {
      const total = { lines: 0, ...emptyResult() };
      try {
        for await (const lines of ndjsonBatches(req.body as Readable, { maxLineBytes: maxLine })) {
        const inputs: RawInput[] = lines.map((l) =>
          l.tooLong === undefined
            ? { value: l.text, ref: `http:${req.id}:${l.line}` }
            : { value: l.text, ref: `http:${req.id}:${l.line}`, rejectReason: 'too-large' },
        );
        total.lines += inputs.length;
        addResult(total, deps.ingest.ingest(inputs));
        }
      } finally {
        // Even a body cut short leaves what it delivered counted and durable.
        deps.ingest.flush();
      }
      return total;
    },
  );
};
