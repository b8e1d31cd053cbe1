// Writes need `Authorization: Bearer TOKEN` when the analyzer runs with a
// token: --admin-token / MESHSCOPE_ADMIN_TOKEN for pins and rules,
// --ingest-token / MESHSCOPE_INGEST_TOKEN for access-log posts. Reads stay open.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';

/** A preHandler that lets through requests bearing `token` (the value of `flag`); none = open. */
export function bearerGuard(token: string | undefined, flag: string) {
  // A token read from a file or a Secret often ends in a newline; the presented one is trimmed too.
  const configured = token?.trim();
  const expected = configured ? digest(configured) : undefined;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!expected) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (m && timingSafeEqual(digest(m[1].trim()), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="meshscope"');
    await reply.code(401).send({
      statusCode: 401,
      error: 'Unauthorized',
      message: m ? `the bearer token does not match ${flag}` : `send Authorization: Bearer <the analyzer ${flag}>`,
    });
  };
}

/** Route options of an admin write: guarded, and documented as needing the bearer token. */
export function adminWrites(token: string | undefined) {
  const preHandler = bearerGuard(token, '--admin-token');
  return (summary: string, schema: Record<string, unknown>): RouteShorthandOptions => ({
    preHandler,
    schema: { tags: ['policy'], summary, security: [{ bearer: [] }], ...schema },
  });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
