// What the analyzer and its in-process lazy gateway's thread (thread.ts) say
// to each other. The thread holds its own copy of the inventory, built from
// the spec it starts with and kept current by deltas; its access-log records
// come back to the analyzer's core in the batches the gateway's reporter makes.
import type { AccessLogRecord } from '../../contracts/access-log.ts';
import type { InventoryDelta, MeshSpec } from '../../contracts/index.ts';

export interface GatewayThreadConfig {
  spec: MeshSpec;
  port: number;
  adminPort: number;
  host: string;
  trustedProxies?: readonly string[];
}

/** Analyzer → thread. */
export type ToGateway =
  /** The inventory changed: apply this delta to the copy (O(what changed)). */
  | { type: 'delta'; delta: InventoryDelta }
  /** The inventory was replaced by an unrelated version: rebuild the copy. */
  | { type: 'spec'; spec: MeshSpec }
  /** Drain in-flight calls, hand over the last records, stop. */
  | { type: 'close' };

/** Thread → analyzer. */
export type FromGateway =
  | { type: 'listening'; port: number; adminPort: number }
  | { type: 'failed'; message: string }
  | { type: 'records'; records: readonly AccessLogRecord[] }
  | { type: 'log'; msg: string }
  /** Drained and closed: the last records were sent before this. */
  | { type: 'closed' };
