import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Inventory } from './inventory.ts';
import type { MeshSpec } from './model.ts';
import { parseMesh } from './parse.ts';
import { InventoryPublisher, type InventorySource } from './source.ts';

export function loadInventory(file: string): Inventory {
  return new Inventory(loadMesh(file));
}

function loadMesh(file: string): MeshSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the mesh inventory (${(err as NodeJS.ErrnoException).code ?? err}); pass --mesh FILE with a mesh.yaml`);
  }
  return parseMesh(text, file);
}

/**
 * The mesh.yaml inventory source: holds the last good inventory of the file and
 * follows it. A good edit becomes a delta of the services whose content
 * changed; a bad edit keeps the last good one and emits `invalid`.
 */
export class WatchedInventory extends InventoryPublisher implements InventorySource {
  readonly file: string;
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(file: string, private readonly log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)) {
    const path = resolve(file);
    super(loadInventory(path));
    this.file = path;
  }

  get origin(): string {
    return this.file;
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
    let spec: MeshSpec;
    try {
      spec = loadMesh(this.file);
    } catch (err) {
      this.log(`mesh inventory: keeping the last good version: ${(err as Error).message}`);
      this.emit('invalid', err as Error);
      return false;
    }
    // A new cluster domain renames every service: that is a new inventory, not a delta.
    const changed = this.publish(spec.clusterDomain === this.inventory.clusterDomain ? this.inventory.deltaTo(spec) : new Inventory(spec));
    if (changed) this.log(`mesh inventory: loaded ${this.file} (${spec.services.length} services, version ${this.inventory.version})`);
    return changed;
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
