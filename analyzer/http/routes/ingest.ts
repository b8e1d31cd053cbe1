// POST /api/v1/access-logs: NDJSON (or one JSON array) in any record shape,
// parsed as it streams in (NDJSON is never buffered whole) and ingested in
// slices that yield the event loop; answers once the records are durable,
// naming why the first rejected lines were rejected.
import { Readable, type Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { DEFAULT_MAX_LINE } from '../../index.ts';
import { addResult, emptyResult, type IngestTarget, type RawInput, type RejectionLog } from '../../sources/ingest-target.ts';
import { ndjsonBatches } from '../../sources/ndjson.ts';
import { ingestSlices } from '../../sources/slices.ts';
import { bearerGuard } from '../auth.ts';
import { errorSchema } from '../schemas.ts';
import { badRequest } from './replies.ts';

export interface IngestDeps {
  ingest: IngestTarget;
  maxLineBytes?: number;
  /** Bearer token every post must carry; unset = open. */
  ingestToken?: string;
  /** Largest body accepted, as sent (compressed or not); default 64 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
/** Rejected lines named in a reply; the rest are counted, and listed by /api/v1/rejected. */
export const REJECTIONS_SHOWN = 20;

const result = {
  type: 'object',
  properties: {
    lines: { type: 'integer', description: 'non-empty lines (or array elements) read' },
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    unresolved: { type: 'integer' },
    duplicates: { type: 'integer' },
    rejections: {
      type: 'array',
      description: `why the first ${REJECTIONS_SHOWN} rejected lines were rejected`,
      items: {
        type: 'object',
        properties: {
          line: { type: 'integer', description: '1-based NDJSON line' },
          element: { type: 'integer', description: '0-based index in a JSON array body' },
          reason: { type: 'string' },
          detail: { type: 'string' },
        },
        required: ['reason', 'detail'],
      },
    },
    more: { type: 'string', description: 'where every rejected record is listed with samples (when any was rejected)' },
  },
  required: ['lines', 'accepted', 'rejected', 'unresolved', 'duplicates', 'rejections'],
} as const;

class TooLarge extends Error {}

export const ingestRoutes: FastifyPluginAsync<IngestDeps> = async (app, deps) => {
  const maxLine = deps.maxLineBytes ?? DEFAULT_MAX_LINE;
  const limit = deps.maxBodyBytes ?? DEFAULT_MAX_BODY;
  // This plugin's only route takes the raw stream whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.post(
    '/api/v1/access-logs',
    {
      bodyLimit: Number.MAX_SAFE_INTEGER,
      preHandler: bearerGuard(deps.ingestToken, '--ingest-token'),
      schema: {
        tags: ['ingest'],
        summary: 'Ingest access-log records: NDJSON, one JSON object a line, or one JSON array (any shape of the fixture format)',
        description:
          `Bodies up to ${mib(limit)} as sent (gzip and deflate accepted); larger ones are answered 413. ` +
          'With --ingest-token, every post needs Authorization: Bearer TOKEN.',
        consumes: ['application/x-ndjson', 'application/json'],
        ...(deps.ingestToken ? { security: [{ ingest: [] }] } : {}),
        response: { 200: result, 400: errorSchema, 401: errorSchema, 413: errorSchema, 415: errorSchema },
      },
    },
    async (req, reply) => {
      if (!req.body) return badRequest(reply, 'send access-log records as NDJSON (one JSON object a line) or as one JSON array');
      const declared = Number(req.headers['content-length']);
      if (declared > limit) {
        return tooLarge(reply, `the body is ${declared} bytes, over the ${mib(limit)} limit; split the records over several posts of at most ${mib(limit)}, each ending at a line boundary`);
      }
      // Shippers (Fluent Bit, Vector) compress their HTTP output when asked to.
      const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
      const decoders: Record<string, (() => Transform) | undefined> = { gzip: createGunzip, deflate: createInflate, identity: undefined };
      if (!(encoding in decoders)) {
        return reply.code(415).send({ statusCode: 415, error: 'Unsupported Media Type', message: `content-encoding ${encoding}: send identity, gzip or deflate` });
      }
      const over: { at?: number } = {};
      const wire = capped(req.body as AsyncIterable<Buffer>, limit, encoding === 'identity', over);
      const decode = decoders[encoding];
      let body: AsyncIterable<Buffer> = wire;
      if (decode) {
        const src = Readable.from(wire);
        const decoder = src.pipe(decode());
        src.on('error', (err) => decoder.destroy(err)); // pipe() does not forward source errors
        body = decoder as AsyncIterable<Buffer>;
      }
      const total = { lines: 0, ...emptyResult() };
      const log: RejectionLog = { max: REJECTIONS_SHOWN, entries: [] };
      const prefix = `http:${req.id}:`;
      /** The last NDJSON line number read (blank ones included). */
      const read = { line: 0 };
      try {
        const { first, all } = await sniff(body);
        const batches = first === 0x5b /* [ */ ? arrayBatches(all, prefix, limit) : lineBatches(all, prefix, maxLine, read);
        for await (const inputs of batches) {
          total.lines += inputs.length;
          addResult(total, await ingestSlices(deps.ingest, inputs, log));
        }
        if (over.at !== undefined) throw new TooLarge();
      } catch (err) {
        if (err instanceof TooLarge) {
          const where = over.at !== undefined ? `, byte ${over.at}` : '';
          return tooLarge(
            reply,
            `the body exceeds the ${mib(limit)} limit; lines 1 to ${read.line} were ingested (${total.lines} records). ` +
              `Post the rest (from line ${read.line + 1}${where}) separately, in bodies of at most ${mib(limit)} that end at a line boundary`,
          );
        }
        if (err instanceof SyntaxError) return badRequest(reply, `the body starts with "[" but is not one JSON array (${err.message}); send a JSON array of records or NDJSON`);
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (!code.startsWith('Z_')) throw err;
        return badRequest(reply, `content-encoding ${encoding}: the body does not decode (${(err as Error).message}) after ${total.lines} lines, which were ingested`);
      } finally {
        // Even a body cut short leaves what it delivered counted and durable.
        await deps.ingest.flush();
      }
      const rejections = log.entries.map(({ ref, reason, detail }) => {
        const at = ref.slice(prefix.length);
        return { ...(at.startsWith('[') ? { element: Number(at.slice(1, -1)) } : { line: Number(at) }), reason, detail };
      });
      return { ...total, rejections, ...(total.rejected > 0 ? { more: '/api/v1/rejected' } : {}) };
    },
  );
};

function lineBatches(body: AsyncIterable<Buffer>, prefix: string, maxLine: number, read: { line: number }): AsyncIterable<RawInput[]> {
  return (async function* () {
    for await (const lines of ndjsonBatches(body, { maxLineBytes: maxLine })) {
      read.line = lines.at(-1)?.line ?? read.line;
      yield lines.map((l) => ({ value: l.text, ref: prefix + l.line, rejectReason: l.tooLong === undefined ? undefined : 'too-large' }));
    }
  })();
}

/** A JSON array is parsed whole (bounded by the body limit, decoded), then ingested element by element. */
async function* arrayBatches(body: AsyncIterable<Buffer>, prefix: string, limit: number): AsyncIterable<RawInput[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > limit) throw new TooLarge();
    chunks.push(c);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!Array.isArray(parsed)) throw new SyntaxError('the top-level value is not an array');
  yield parsed.map((value, i) => ({ value: value as RawInput['value'], ref: `${prefix}[${i}]` }));
}

/** The first non-blank byte of the body (or undefined), and the body again from its start. */
async function sniff(body: AsyncIterable<Buffer>): Promise<{ first?: number; all: AsyncIterable<Buffer> }> {
  const it = body[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let first: number | undefined;
  while (first === undefined) {
    const n = await it.next();
    if (n.done) break;
    head.push(n.value);
    first = n.value.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  }
  const all = (async function* () {
    yield* head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  })();
  return { first, all };
}

/**
 * The body up to `limit` bytes. Past it, a plain body ends at the last line
 * break within the limit (the complete lines before it are still ingested) and
 * `over` is set; a compressed one fails with TooLarge.
 */
async function* capped(body: AsyncIterable<Buffer>, limit: number, plain: boolean, over: { at?: number }): AsyncIterable<Buffer> {
  let seen = 0;
  for await (const c of body) {
    if (seen + c.length <= limit) {
      seen += c.length;
      yield c;
      continue;
    }
    if (!plain) throw new TooLarge();
    const cut = c.subarray(0, limit - seen).lastIndexOf(0x0a);
    over.at = seen + cut + 1;
    if (cut >= 0) yield c.subarray(0, cut + 1);
    return;
  }
}

function tooLarge(reply: FastifyReply, message: string) {
  // The rest of the body is not read: close the connection rather than drain it.
  return reply.code(413).header('connection', 'close').send({ statusCode: 413, error: 'Payload Too Large', message });
}

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : `${bytes} bytes`;
}
