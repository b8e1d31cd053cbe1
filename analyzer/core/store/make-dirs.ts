// mkdir -p that fails instead of spinning: Node 20's mkdirSync(recursive) loops
// forever under pseudo file systems such as /proc (each mkdir says ENOENT).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` and any missing parents, one at a time; throws the first mkdir error. */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}
