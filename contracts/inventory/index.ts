export * from './model.ts';
export { Inventory, splitHostPort, type ResolvedAuthority, type NodeIdentity } from './inventory.ts';
export { parseMesh } from './parse.ts';
export { InventoryError } from './errors.ts';
export { WatchedInventory, loadInventory } from './watch.ts';
