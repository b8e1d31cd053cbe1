// A store that fails and recovers: the analyzer keeps serving, keeps what it
// could not write, retries on its own timer with back-off, answers /readyz 503
// and counts the failures meanwhile, and writes everything once the store works.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { buildApp } from '../../analyzer/http/app.ts';
import { waitUntil } from '../harness/wait.ts';
import { PAGE, call, inputs, open } from '../analyzer-core/mesh.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshscope-store-failure-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a flush error on the timer neither crashes nor loses records: 503 and counted while failing, written once repaired', async () => {
  const db = join(dir, 'analyzer.db');
  const logs: string[] = [];
  const { analyzer } = open({ db, log: (l) => logs.push(l) });
  const app = await buildApp({ analyzer });
  const other = new Database(db);
  try {
    analyzer.start({ flushMs: 20 });
    const metric = async (name: string) => {
      const text = (await app.inject('/metrics')).body;
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    assert.equal((await app.inject('/readyz')).statusCode, 200);

    // Break the schema under the analyzer (as a disk-full or a botched migration would), then ingest.
    other.exec('ALTER TABLE edges RENAME TO edges_away');
    analyzer.ingest(inputs(call(PAGE, 'reviews')));
    await waitUntil(async () => (await metric('meshscope_store_flush_failures_total')) >= 2, 'the timer to fail and retry the flush');
    const ready = await app.inject('/readyz');
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().reason, /the store fails to write since .*no such table: edges/);
    assert.equal(await metric('meshscope_store_failing'), 1);
    // Still serving from memory.
    assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
    assert.equal(logs.filter((l) => l.startsWith('store: flush failed')).length, 1, 'one line when it starts failing, not one per attempt');

    other.exec('ALTER TABLE edges_away RENAME TO edges');
    await waitUntil(async () => (await app.inject('/readyz')).statusCode === 200, 'the flush to succeed again', 40_000);
    assert.equal(await metric('meshscope_store_failing'), 0);
    const rows = other.prepare("SELECT source, dest, count FROM edges WHERE kind = 'service'").all();
    assert.deepEqual(rows, [{ source: 'productpage.default', dest: 'reviews.default', count: 1 }], 'what failed to be written is written after the repair');
    assert.match(logs.at(-1)!, /^store: flush succeeds again after \d+ failed attempts/);
  } finally {
    other.close();
    await app.close();
    await analyzer.close();
  }
});

test('a new dependency is written on the next tick, not at the next timer flush: a kill right after it loses no scope', async () => {
  const db = join(dir, 'scope-flush.db');
  const { analyzer } = open({ db });
  const other = new Database(db, { readonly: true });
  try {
    analyzer.start({ flushMs: 3_600_000 });
    const edges = () => other.prepare("SELECT source, dest FROM edges WHERE kind = 'service'").all();
    analyzer.ingest(inputs(call(PAGE, 'reviews')));
    assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
    assert.deepEqual(edges(), [], 'not yet: the write waits for the next tick');
    // The timer would write it in an hour; the store's worker thread writes it at once.
    await waitUntil(() => edges().length > 0, 'the new dependency to be written', 5_000, { intervalMs: 5 });
    assert.deepEqual(edges(), [{ source: 'productpage.default', dest: 'reviews.default' }]);
  } finally {
    other.close();
    await analyzer.close();
  }
});
