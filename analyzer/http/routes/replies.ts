// The API's error bodies: status, name and a message that says what to fix.
import type { FastifyReply } from 'fastify';

export const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ statusCode: 404, error: 'Not Found', message });
export const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send({ statusCode: 400, error: 'Bad Request', message });

/** `NAME.NAMESPACE` from the `:ns/:name` path parameters. */
export function serviceIdOf(params: unknown): string {
  const { ns, name } = params as { ns: string; name: string };
  return `${name}.${ns}`;
}
