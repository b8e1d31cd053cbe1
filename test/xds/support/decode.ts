// Decodes what the cache would put on the wire, to assert on resource shapes.
import { decodeMessage } from '../../../contracts/envoy-proto.ts';
import { TYPE_PREFIX } from '../../../contracts/envoy-proto.ts';
import type { EncodedResource } from '../../../xds-server/types.ts';

export function decodeAny<T = any>(any: { type_url: string; value: Uint8Array }): T {
  return decodeMessage<T>(any.type_url.slice(TYPE_PREFIX.length), any.value);
}

export function decoded<T = any>(r: EncodedResource | undefined): T {
  if (!r) throw new Error('resource missing');
  return decodeAny<T>(r.any);
}

/** Every domain of every virtual host of a route configuration. */
export function domainsOf(route: any): string[] {
  return (route.virtual_hosts ?? []).flatMap((vh: any) => vh.domains ?? []);
}
