// The store writes in its own thread: a flush that waits on the disk (an
// fsync, or here another writer's lock, up to SQLite's 5 s busy timeout) must
// not stop the analyzer's event loop, which also carries the gateway, the xDS
// pushes and /healthz. Written on the main thread, the flush below would hold
// the loop for the whole 5 s and then fail with SQLITE_BUSY.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { PAGE, call, inputs, open } from '../analyzer-core/mesh.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshscope-store-worker-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a flush that waits on the disk leaves the event loop free, and resolves once the write is durable', async () => {
  const db = join(dir, 'locked.db');
  const { analyzer } = open({ db });
  const other = new Database(db);
  try {
    analyzer.ingest(inputs(call(PAGE, 'reviews')));
    other.exec('BEGIN IMMEDIATE'); // another writer holds the lock: the store's write must wait for it

    const t0 = performance.now();
    let durable = false;
    const flushing = analyzer.flush().then(() => (durable = true));
    const returned = performance.now() - t0;

    // Timers keep firing while the write waits: the loop turns ~20 times in 400 ms.
    let ticks = 0;
    let longest = 0;
    let last = performance.now();
    while (performance.now() - t0 < 400) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }
    assert.ok(returned < 250, `flush() returned after ${returned.toFixed(0)} ms: only the batch is built on the caller's thread`);
    assert.equal(durable, false, 'not durable while the lock is held');
    assert.ok(ticks >= 4, `the event loop turned ${ticks} times in 400 ms while the write waited (longest gap ${longest.toFixed(0)} ms)`);

    other.exec('COMMIT');
    await flushing;
    const rows = other.prepare("SELECT source, dest, count FROM edges WHERE kind = 'service'").all();
    assert.deepEqual(rows, [{ source: 'productpage.default', dest: 'reviews.default', count: 1 }], 'durable once the flush resolves');
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await analyzer.close();
  }
});
