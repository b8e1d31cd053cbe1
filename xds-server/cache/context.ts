// What the profiles read to compute a node's configuration.
import type { Inventory } from '../../contracts/index.ts';
import type { EncodedResource } from '../types.ts';
import type { SharedMemo } from './memo.ts';
import type { ScopeStore } from './scopes.ts';
import type { ScopeViews } from './scope-views.ts';
import type { ServicePool } from './service-pool.ts';

export interface CacheContext {
  readonly inventory: Inventory;
  readonly pool: ServicePool;
  readonly lazy: boolean;
  readonly scopes: ScopeStore;
  readonly views: ScopeViews;
  readonly memo: SharedMemo<EncodedResource>;
  /** Undefined when the server runs without --gateway: the catch-all then answers 503. */
  readonly gatewayCluster?: EncodedResource;
  readonly gatewayFragment: Buffer;
  /** The analyzer's Access Log Service cluster; when set, egress listeners log to it. */
  readonly accessLogCluster?: EncodedResource;
}
