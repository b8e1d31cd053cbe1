// Serializes a resource once and names its version by content, so equal
// content gives the equal version on every node and across restarts, and a
// change to one resource changes only that resource's version.
import { createHash } from 'node:crypto';
import { anyOf, encodeMessage } from '../../contracts/envoy-proto.ts';
import type { EncodedResource } from '../types.ts';

export const LISTENER = 'envoy.config.listener.v3.Listener';
export const ROUTE = 'envoy.config.route.v3.RouteConfiguration';
export const CLUSTER = 'envoy.config.cluster.v3.Cluster';
export const LOAD_ASSIGNMENT = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
export const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function bytesVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 16);
}

export function fromBytes(fullName: string, name: string, bytes: Buffer): EncodedResource {
  return { name, version: bytesVersion(bytes), any: anyOf(fullName, bytes) };
}

export function encodeResource(fullName: string, name: string, value: Record<string, unknown>): EncodedResource {
  return fromBytes(fullName, name, encodeMessage(fullName, value));
}

/** An embedded `google.protobuf.Any` (typed_config and friends), as a plain object for encodeMessage. */
export function typedConfig(fullName: string, value: Record<string, unknown>): Record<string, unknown> {
  return anyOf(fullName, encodeMessage(fullName, value));
}

export const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

/**
 * Struct value for metadata. protobufjs has no JSON mapping for Struct, and
 * its bundled google/protobuf/struct.proto names Value's fields in camelCase
 * (keepCase does not reach bundled files).
 */
export function structOf(values: Record<string, string>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringValue: v }])) };
}
