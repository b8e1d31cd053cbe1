// The one digest of a set of resources, from their types, names and versions:
// the protocol's version_info / system_version_info (the same content yields
// the same string across streams, nodes and restarts, so a reconnecting client
// that presents the version it holds is answered with nothing), and the
// cache's test of whether a node's resources of a type changed.
import { createHash } from 'node:crypto';
import type { EncodedResource } from './types.ts';

const LANES = 3;
/** Per-resource digest, shared by every stream that sends this resource version. */
const digests = new WeakMap<EncodedResource, Uint32Array>();

function digest(r: EncodedResource): Uint32Array {
  let d = digests.get(r);
  if (!d) {
    const h = createHash('sha1').update(r.any.type_url).update('\0').update(r.name).update('\0').update(r.version).digest();
    d = new Uint32Array(LANES);
    for (let i = 0; i < LANES; i++) d[i] = h.readUInt32BE(i * 4);
    digests.set(r, d);
  }
  return d;
}

/**
 * An order-independent digest (lane-wise sum of per-resource SHA-1 prefixes):
 * O(n) additions per response instead of sorting and hashing every name again.
 */
export function contentVersion(resources: Iterable<EncodedResource>): string {
  const sum = new Uint32Array(LANES);
  for (const r of resources) {
    const d = digest(r);
    for (let i = 0; i < LANES; i++) sum[i] = (sum[i] + d[i]) >>> 0;
  }
  let out = '';
  for (let i = 0; i < LANES; i++) out += sum[i].toString(16).padStart(8, '0');
  return out;
}
