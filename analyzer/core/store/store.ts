// SQLite persistence of the analyzer's state (better-sqlite3, WAL). Writes are
// batched by the caller: one transaction per flush, whatever its size. The
// analyzer opens it on its own thread only to load at start; every write runs
// in the store's worker thread (worker.ts), so an fsync never stalls the loop.
import { makeDirs } from './make-dirs.ts';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EdgeKind } from '../edge.ts';
import { BUCKETS } from '../histogram.ts';
import type { RejectedEntry, RejectedSample, UnresolvedEntry } from '../outcomes.ts';
import type { Pin, ScopeRule } from '../policy.ts';
import { MIGRATIONS } from './migrations.ts';
import { migrate } from './schema.ts';
import { SAMPLES_PER_REASON } from '../outcomes.ts';

export interface EdgeRow {
  kind: EdgeKind;
  source: string;
  dest: string;
  count: number;
  errors: number;
  first_seen: number;
  last_seen: number;
  protocols: string;
  latency: Buffer | null;
  active: number;
  /** Epoch ms, null before migration 3 or when never seen that way. */
  via_gateway: number | null;
  direct: number | null;
  reporters: string;
}

/** An edge as a flush writes it: plain values that cross to the worker thread; its histogram travels in FlushBatch.latency. */
export type EdgeWrite = Omit<EdgeRow, 'latency'>;

/** One flush: plain, structured-cloneable rows. */
export interface FlushBatch {
  edges: readonly EdgeWrite[];
  /** The edges' latency histograms, BUCKETS counts each in `edges` order: one buffer, transferred rather than copied. */
  latency: Float64Array;
  rejected: readonly RejectedEntry[];
  samples: ReadonlyArray<{ reason: string; sample: RejectedSample }>;
  unresolved: readonly UnresolvedEntry[];
  counters: Record<string, number>;
}

export class Store {
  private readonly stmts;

  private constructor(readonly db: Database.Database, readonly file: string) {
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      edge: p(`INSERT INTO edges (kind, source, dest, count, errors, first_seen, last_seen, protocols, latency, active, via_gateway, direct, reporters)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (kind, source, dest) DO UPDATE SET count = excluded.count, errors = excluded.errors,
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen, protocols = excluded.protocols,
                 latency = excluded.latency, active = excluded.active, via_gateway = excluded.via_gateway,
                 direct = excluded.direct, reporters = excluded.reporters`),
      rejected: p(`INSERT INTO rejected (reason, count, first_at, last_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (reason) DO UPDATE SET count = excluded.count, last_at = excluded.last_at`),
      sample: p('INSERT INTO rejected_samples (reason, ref, detail, raw, at) VALUES (?, ?, ?, ?, ?)'),
      pruneSamples: p(`DELETE FROM rejected_samples WHERE reason = ? AND id NOT IN
                       (SELECT id FROM rejected_samples WHERE reason = ? ORDER BY id DESC LIMIT ${SAMPLES_PER_REASON})`),
      unresolved: p(`INSERT INTO unresolved (kind, key, source, count, first_seen, last_seen, ref) VALUES (?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (kind, source, key) DO UPDATE SET count = excluded.count, first_seen = excluded.first_seen,
                       last_seen = excluded.last_seen, ref = excluded.ref`),
      counter: p('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      putPin: p('INSERT OR REPLACE INTO pins (source, dest, note, created_at) VALUES (?, ?, ?, ?)'),
      deletePin: p('DELETE FROM pins WHERE source = ? AND dest = ?'),
      putRule: p('INSERT OR REPLACE INTO rules (id, source, namespace, selector, note, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      deleteRule: p('DELETE FROM rules WHERE id = ?'),
    };
  }

  /** Opens (creating it and its folder if needed) and migrates the store; ':memory:' for a throwaway one. */
  static open(file: string): Store {
    let db: Database.Database;
    try {
      if (file !== ':memory:') makeDirs(dirname(file));
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      // A flush is the point after which transports acknowledge: make it survive power loss too.
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new Error(`${file}: cannot open the analyzer store (${(err as Error).message}); pass --db with a writable file path`);
    }
    try {
      migrate(db, MIGRATIONS, file);
    } catch (err) {
      db.close();
      throw err;
    }
    return new Store(db, file);
  }

  loadEdges(): EdgeRow[] {
    return this.db.prepare('SELECT * FROM edges').all() as EdgeRow[];
  }

  loadPins(): Pin[] {
    const rows = this.db.prepare('SELECT source, dest, note, created_at FROM pins').all() as Array<{ source: string; dest: string; note: string | null; created_at: number }>;
    return rows.map((r) => ({ source: r.source, dest: r.dest, note: r.note ?? undefined, createdAt: r.created_at }));
  }

  loadRules(): ScopeRule[] {
    const rows = this.db.prepare('SELECT * FROM rules ORDER BY id').all() as Array<Record<string, string | number | null>>;
    return rows.map((r) => ({
      id: r.id as string,
      source: r.source as string,
      namespace: (r.namespace as string | null) ?? undefined,
      selector: r.selector ? (JSON.parse(r.selector as string) as Record<string, string>) : undefined,
      note: (r.note as string | null) ?? undefined,
      createdAt: r.created_at as number,
    }));
  }

  loadRejected(): RejectedEntry[] {
    const entries = this.db.prepare('SELECT reason, count, first_at AS firstAt, last_at AS lastAt FROM rejected').all() as RejectedEntry[];
    const samples = this.db.prepare('SELECT reason, ref, detail, raw, at FROM rejected_samples ORDER BY id').all() as Array<RejectedSample & { reason: string }>;
    for (const e of entries) e.samples = samples.filter((s) => s.reason === e.reason).map(({ reason: _, ...s }) => s);
    return entries;
  }

  loadUnresolved(): UnresolvedEntry[] {
    return this.db
      .prepare('SELECT kind, key, source, count, first_seen AS firstSeen, last_seen AS lastSeen, ref FROM unresolved')
      .all() as UnresolvedEntry[];
  }

  loadCounters(): Record<string, number> {
    const rows = this.db.prepare('SELECT name, value FROM counters').all() as Array<{ name: string; value: number }>;
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  /** Writes one flush in a single transaction. */
  save(b: FlushBatch): void {
    const s = this.stmts;
    this.db.transaction(() => {
      const bytes = BUCKETS * Float64Array.BYTES_PER_ELEMENT;
      b.edges.forEach((e, i) => {
        const latency = Buffer.from(b.latency.buffer, b.latency.byteOffset + i * bytes, bytes);
        s.edge.run(e.kind, e.source, e.dest, e.count, e.errors, e.first_seen, e.last_seen, e.protocols, latency, e.active, e.via_gateway, e.direct, e.reporters);
      });
      for (const r of b.rejected) s.rejected.run(r.reason, r.count, r.firstAt, r.lastAt);
      for (const { reason, sample } of b.samples) s.sample.run(reason, sample.ref, sample.detail, sample.raw, sample.at);
      for (const r of b.rejected) s.pruneSamples.run(r.reason, r.reason);
      for (const u of b.unresolved) s.unresolved.run(u.kind, u.key, u.source, u.count, u.firstSeen, u.lastSeen, u.ref);
      for (const [name, value] of Object.entries(b.counters)) s.counter.run(name, value);
    })();
  }

  putPin(p: Pin): void {
    this.stmts.putPin.run(p.source, p.dest, p.note ?? null, p.createdAt);
  }

  deletePin(source: string, dest: string): void {
    this.stmts.deletePin.run(source, dest);
  }

  putRule(r: ScopeRule): void {
    this.stmts.putRule.run(r.id, r.source, r.namespace ?? null, r.selector ? JSON.stringify(r.selector) : null, r.note ?? null, r.createdAt);
  }

  deleteRule(id: string): void {
    this.stmts.deleteRule.run(id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
