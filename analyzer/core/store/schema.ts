// Versioned schema: `schema_version` holds the version the file is at, and
// every migration above it runs in order, each in its own transaction, so a
// crash mid-upgrade leaves the file at the last complete version.
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export function schemaVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Brings `db` to the last migration's version; returns the version it started from. */
export function migrate(db: Database.Database, migrations: readonly Migration[], file: string): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`store migrations: entry ${i} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new Error(
      `${file}: the store is at schema version ${from}, newer than this meshscope knows (${latest}); upgrade meshscope or point --db at another file`,
    );
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      m.up(db);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
    })();
  }
  return from;
}
