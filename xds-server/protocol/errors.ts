// A stream-ending protocol violation, carried to the transport as a gRPC status.
import { status } from '@grpc/grpc-js';

export class ProtocolError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * The status a failure ends a stream with. Errors that carry a numeric gRPC
 * `code` (ProtocolError, or an Error the cache throws to refuse a node) keep it;
 * anything else is an internal fault of this server.
 */
export function statusOf(err: unknown): { code: status; details: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && code > 0 && code <= 16) return { code, details: message };
  return { code: status.INTERNAL, details: `xds server fault: ${message}` };
}
