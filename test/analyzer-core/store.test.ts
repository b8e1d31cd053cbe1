import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { VirtualClock } from '../../analyzer/index.ts';
import { MIGRATIONS } from '../../analyzer/core/store/migrations.ts';
import { migrate, schemaVersion } from '../../analyzer/core/store/schema.ts';
import { CART, DAY, PAGE, T0, call, inputs, open } from './mesh.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshscope-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a restart restores graph, scopes, pins, rules and outcomes: scopes never shrink', async () => {
  const db = join(dir, 'nested', 'analyzer.db');
  const first = open({ db });
  first.analyzer.ingest(inputs(call(PAGE, 'reviews', T0, { durationMs: 40, code: 503 }), call(CART, 'ratings'), 'junk', call(PAGE, 'api.stripe.com')));
  await first.analyzer.pin('ratings.default', 'cart.shop', 'nightly export');
  await first.analyzer.addRule({ id: 'shop-all', source: 'loadgen.default', namespace: 'shop' });
  await first.analyzer.flush();
  const before = first.analyzer.scopes();
  const edgesBefore = first.analyzer.edges({ includeExpired: true });
  // Ingested after the last flush, then closed: close() flushes too.
  first.analyzer.ingest(inputs(call(PAGE, 'ratings', T0 + 1)));
  await first.analyzer.close();

  const second = open({ db, clock: new VirtualClock(T0 + 1) });
  const after = second.analyzer.scopes();
  for (const [s, deps] of before) for (const d of deps) assert.ok(after.get(s)?.includes(d), `${s} lost ${d} over a restart`);
  assert.deepEqual(after.get('productpage.default'), ['ratings.default', 'reviews.default']);
  assert.deepEqual(after.get('loadgen.default'), ['cart.shop', 'ratings.shop']);
  assert.deepEqual(after.get('ratings.default'), ['cart.shop']);
  const reviews = second.analyzer.edges({ includeExpired: true }).find((e) => e.kind === 'service' && e.dest === 'reviews.default');
  assert.deepEqual(reviews, edgesBefore.find((e) => e.kind === 'service' && e.dest === 'reviews.default'));
  assert.equal(second.analyzer.pins()[0].note, 'nightly export');
  assert.equal(second.analyzer.rules()[0].namespace, 'shop');
  const s = second.analyzer.stats();
  assert.deepEqual([s.records, s.accepted, s.rejected, s.unresolved], [5, 3, 1, 1]);
  assert.equal(second.analyzer.rejected()[0].samples[0].raw, 'junk');
  assert.equal(second.analyzer.unresolved()[0].key, 'api.stripe.com');
  // The restored edge keeps counting from where it was.
  second.analyzer.ingest(inputs(call(PAGE, 'reviews', T0 + 2)));
  assert.equal(second.analyzer.edges().find((e) => e.kind === 'service' && e.dest === 'reviews.default')?.count, 2);
  await second.analyzer.close();
});

test('the store is WAL, versioned, and flush makes ingested records durable for another reader', async () => {
  const db = join(dir, 'wal.db');
  const { analyzer } = open({ db });
  analyzer.ingest(inputs(call(PAGE, 'reviews')));
  await analyzer.flush();
  const reader = new Database(db, { readonly: true });
  assert.equal(reader.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(schemaVersion(reader), MIGRATIONS.length);
  assert.deepEqual(reader.prepare('SELECT kind, source, dest, count FROM edges ORDER BY kind').all(), [
    { kind: 'service', source: 'productpage.default', dest: 'reviews.default', count: 1 },
    { kind: 'workload', source: PAGE, dest: 'reviews.default', count: 1 },
  ]);
  reader.close();
  await analyzer.close();
});

test('a flush that fails loses nothing: the next flush writes what it was to write', async () => {
  const db = join(dir, 'failing.db');
  const { analyzer } = open({ db });
  analyzer.ingest(inputs(call(PAGE, 'reviews'), 'junk', call(PAGE, 'api.stripe.com')));
  // Another process breaks the schema under the analyzer for a moment.
  const other = new Database(db);
  other.exec('ALTER TABLE counters RENAME TO counters_away');
  await assert.rejects(analyzer.flush(), /counters/);
  other.exec('ALTER TABLE counters_away RENAME TO counters');
  other.close();
  await analyzer.flush();
  await analyzer.close();
  const reader = new Database(db, { readonly: true });
  assert.deepEqual(reader.prepare('SELECT kind, dest, count FROM edges ORDER BY kind').all(), [
    { kind: 'service', dest: 'reviews.default', count: 1 },
    { kind: 'workload', dest: 'reviews.default', count: 1 },
  ]);
  assert.equal((reader.prepare('SELECT count FROM rejected').get() as { count: number }).count, 1);
  assert.equal((reader.prepare('SELECT count(*) AS n FROM rejected_samples').get() as { n: number }).n, 1);
  assert.equal((reader.prepare('SELECT key FROM unresolved').get() as { key: string }).key, 'api.stripe.com');
  reader.close();
});

test('an older schema is migrated in order and its data kept', async () => {
  const db = join(dir, 'v1.db');
  const old = new Database(db);
  assert.equal(migrate(old, MIGRATIONS.slice(0, 1), db), 0);
  assert.equal(schemaVersion(old), 1);
  old.prepare('INSERT INTO edges (kind, source, dest, count, errors, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'service', 'productpage.default', 'reviews.default', 42, 1, T0 - DAY, T0 - 1000,
  );
  old.prepare('INSERT INTO pins (source, dest, note, created_at) VALUES (?, ?, ?, ?)').run('cart.shop', 'ratings.default', null, T0);
  old.close();

  const { analyzer } = open({ db });
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  assert.deepEqual(analyzer.scope('cart.shop'), ['ratings.default']);
  const [edge] = analyzer.edges({ kind: 'service' });
  assert.deepEqual([edge.count, edge.errors, edge.protocols, edge.p50Ms, edge.active], [42, 1, [], undefined, true]);
  await analyzer.close();
  const check = new Database(db, { readonly: true });
  assert.equal(schemaVersion(check), MIGRATIONS.length);
  check.close();
});

test('a store written by a newer meshscope is refused with a clear message', () => {
  const db = join(dir, 'future.db');
  const future = new Database(db);
  migrate(future, MIGRATIONS, db);
  future.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length + 1);
  future.close();
  const [known, found] = [MIGRATIONS.length, MIGRATIONS.length + 1];
  assert.throws(() => open({ db }), new RegExp(`schema version ${found}, newer than this meshscope knows \\(${known}\\); upgrade meshscope or point --db`));
});

test('days without an analyzer running are not days without traffic: no expiry before start + grace', async () => {
  const db = join(dir, 'downtime.db');
  const first = open({ db, dependencyTtlMs: 7 * DAY, graceMs: DAY });
  first.analyzer.ingest(inputs(call(PAGE, 'reviews', T0)));
  await first.analyzer.close();
  // Restarted 30 days later: the edge is far past TTL + grace by its last sighting.
  const clock = new VirtualClock(T0 + 30 * DAY);
  const second = open({ db, clock, dependencyTtlMs: 7 * DAY, graceMs: DAY });
  assert.deepEqual(second.analyzer.scope('productpage.default'), ['reviews.default']);
  // What the API says of it (the why of the scope entry) is that same deadline, not lastSeen + TTL + grace.
  const [why] = second.analyzer.scopeWhy('productpage.default');
  assert.deepEqual(why.reasons.map((r: any) => r.expiresAt), [new Date(T0 + 31 * DAY).toISOString()]);
  clock.advance(DAY);
  assert.deepEqual(second.analyzer.checkExpiry(), []);
  // Traffic since the restart keeps what is used; the rest leaves after the grace.
  second.analyzer.ingest(inputs(call(CART, 'ratings', T0 + 31 * DAY)));
  clock.advance(1);
  assert.deepEqual(second.analyzer.checkExpiry(), ['productpage.default']);
  assert.deepEqual(second.analyzer.scope('productpage.default'), []);
  assert.deepEqual(second.analyzer.scope('cart.shop'), ['ratings.shop']);
  await second.analyzer.close();
});
