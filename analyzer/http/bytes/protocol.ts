// What the analyzer and its config-bytes worker say to each other.
import type { InventoryDelta, MeshSpec, ProxyBytes, ServiceId, WorkloadId } from '../../../contracts/index.ts';
import type { ProxyBytesOptions } from '../../../xds-server/index.ts';

export type BytesRequest =
  /** The inventory to measure against from now on (sent when its version moved). */
  | { op: 'inventory'; version: string; spec: MeshSpec; deployed: ProxyBytesOptions }
  /** The next inventory as a delta of the one sent last (what Inventory.apply takes): only what changed crosses threads. */
  | { op: 'delta'; version: string; delta: InventoryDelta; deployed: ProxyBytesOptions }
  | { op: 'measure'; id: number; workload: WorkloadId; scope: ServiceId[] };

export type BytesReply = { id: number; bytes?: ProxyBytes; error?: string };
