// Nonces of one stream's responses.
import { randomBytes } from 'node:crypto';

/** Fresh nonces for one stream; the random prefix keeps a previous stream's nonces from ever matching. */
export function nonceSource(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  return () => `${prefix}-${++n}`;
}
