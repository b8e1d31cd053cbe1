import { EventEmitter } from 'node:events';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Inventory } from './inventory.ts';
import { parseMesh } from './parse.ts';

export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the mesh inventory (${(err as NodeJS.ErrnoException).code ?? err}); pass --mesh FILE with a mesh.yaml`);
  }
  return new Inventory(parseMesh(text, file));
}

export interface InventoryEvents {
  change: [next: Inventory, previous: Inventory];
  invalid: [error: Error];
}

/**
 * Holds the last good inventory of a mesh.yaml and follows the file. A good edit
 * replaces it; a bad edit keeps the last good one and emits `invalid`.
 */
export class WatchedInventory extends EventEmitter<InventoryEvents> {
  private inventory: Inventory;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(readonly file: string, private readonly log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)) {
    super();
    this.file = resolve(file);
    this.inventory = loadInventory(this.file);
  }

  get current(): Inventory {
    return this.inventory;
  }

  /** Watches the directory, since editors and ConfigMap mounts replace the file rather than write it. */
  start(): this {
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed && changed !== name && !String(changed).startsWith('..')) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload(), 50);
    });
    return this;
  }

  /** Re-reads the file now; returns whether the inventory changed. */
  reload(): boolean {
    let next: Inventory;
    try {
      next = loadInventory(this.file);
    } catch (err) {
      this.log(`mesh inventory: keeping the last good version: ${(err as Error).message}`);
      this.emit('invalid', err as Error);
      return false;
    }
    if (next.version === this.inventory.version) return false;
    const previous = this.inventory;
    this.inventory = next;
    this.log(`mesh inventory: loaded ${this.file} (${next.services.length} services, version ${next.version})`);
    this.emit('change', next, previous);
    return true;
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
