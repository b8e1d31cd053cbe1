// The seam between the xDS protocol engine (xds-server/protocol/, one stream
// state machine per ADS stream) and the cache that knows what each node should
// have (xds-server/cache/, resources built per inventory and scope). The
// protocol never builds resources; the cache never sees a stream.
import type { ServiceId, WorkloadId } from '../contracts/index.ts';

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  Route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  Endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Push order that never leaves a proxy pointing at a resource it lacks: CDS → EDS → LDS → RDS. */
export const PUSH_ORDER: readonly TypeUrl[] = [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route];
/** Types whose empty subscription means "everything" (wildcard). */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Listener, TypeUrl.Cluster]);

/**
 * One resource, encoded once per version. `any` is the `google.protobuf.Any`
 * every stream that receives this version shares — never re-encoded per stream.
 */
export interface EncodedResource {
  name: string;
  version: string;
  any: { type_url: string; value: Buffer };
}

/** The node as it introduced itself in its first request. */
export interface XdsNode {
  id: string;
  cluster?: string;
  metadata: Record<string, unknown>;
  /** `envoy` when the node's user agent is Envoy, `grpc` for proxyless gRPC clients. */
  profile: 'envoy' | 'grpc';
}

/** What made a node's configuration change: the analyzer's scopes, a new inventory, or the node's own subscription (proxyless). */
export type ChangeCause = 'scope' | 'inventory' | 'subscription';

/** One cause's share of a change notification. */
export interface ConfigChange {
  readonly cause: ChangeCause;
  /** performance.now() when the cache applied it (the first such change, if several were coalesced). */
  readonly at: number;
  readonly types: ReadonlySet<TypeUrl>;
}

/** A node's view of the cache: what it should have now, and word when that changes. */
export interface NodeHandle {
  readonly workload?: WorkloadId;
  readonly service?: ServiceId;
  /** The services this node is configured for, for status (the cache's decision; none if it has no such notion). */
  readonly scope?: readonly ServiceId[];
  /** The resources of one type this node should have now (the full set for wildcard types). */
  resources(type: TypeUrl): ReadonlyMap<string, EncodedResource>;
  /**
   * Called with the types whose resources changed for this node, and what
   * changed them (by cause; a cache that cannot tell passes none).
   */
  onChange(listener: (types: ReadonlySet<TypeUrl>, changes?: readonly ConfigChange[]) => void): () => void;
  /** The stream's current explicit subscription of a type (proxyless dependencies come from here). */
  subscribed(type: TypeUrl, names: ReadonlySet<string>): void;
  detach(): void;
}

export interface XdsCache {
  attach(node: XdsNode): NodeHandle;
}
