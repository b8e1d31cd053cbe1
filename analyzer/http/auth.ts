// Admin writes (pins, rules) need `Authorization: Bearer TOKEN` when the
// analyzer runs with --admin-token / MESHSCOPE_ADMIN_TOKEN; reads stay open.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export function adminGuard(token: string | undefined) {
  const expected = token ? digest(token) : undefined;
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
      message: m ? 'the bearer token does not match --admin-token' : 'send Authorization: Bearer <the analyzer --admin-token>',
    });
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
