export * from './model.ts';
export * from './authorization.ts';
export { Inventory, splitHostPort, policyKey, type InventoryDelta, type ResolvedAuthority, type NodeIdentity } from './inventory.ts';
export { parseMesh } from './parse.ts';
export { InventoryError } from './errors.ts';
export { WatchedInventory, loadInventory } from './watch.ts';
export { InventoryPublisher, FixedInventorySource, inventorySource, type InventorySource, type InventoryEvents } from './source.ts';
export { openInventorySource, type InventoryOrigin } from './open.ts';
