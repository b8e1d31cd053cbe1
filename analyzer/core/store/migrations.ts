// The store's history, oldest first. Never edit a released entry: add one.
import type { Migration } from './schema.ts';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'dependency edges and pins',
    up: (db) =>
      db.exec(`
        CREATE TABLE edges (
          kind TEXT NOT NULL, source TEXT NOT NULL, dest TEXT NOT NULL,
          count INTEGER NOT NULL, errors INTEGER NOT NULL,
          first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
          PRIMARY KEY (kind, source, dest)
        ) WITHOUT ROWID;
        CREATE TABLE pins (
          source TEXT NOT NULL, dest TEXT NOT NULL, note TEXT, created_at INTEGER NOT NULL,
          PRIMARY KEY (source, dest)
        ) WITHOUT ROWID;`),
  },
  {
    version: 2,
    description: 'edge protocols, latency histogram and scope state; scope rules',
    up: (db) =>
      db.exec(`
        ALTER TABLE edges ADD COLUMN protocols TEXT NOT NULL DEFAULT '';
        ALTER TABLE edges ADD COLUMN latency BLOB;
        ALTER TABLE edges ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE rules (
          id TEXT PRIMARY KEY, source TEXT NOT NULL, namespace TEXT, selector TEXT,
          note TEXT, created_at INTEGER NOT NULL
        );`),
  },
  {
    version: 3,
    description: 'ingest outcomes: rejected records with samples, unresolved spellings, counters',
    up: (db) =>
      db.exec(`
        CREATE TABLE rejected (
          reason TEXT PRIMARY KEY, count INTEGER NOT NULL, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL
        );
        CREATE TABLE rejected_samples (
          id INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL, ref TEXT NOT NULL,
          detail TEXT NOT NULL, raw TEXT NOT NULL, at INTEGER NOT NULL
        );
        CREATE INDEX rejected_samples_reason ON rejected_samples (reason, id);
        CREATE TABLE unresolved (
          kind TEXT NOT NULL, key TEXT NOT NULL, source TEXT NOT NULL,
          count INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, ref TEXT NOT NULL,
          PRIMARY KEY (kind, source, key)
        ) WITHOUT ROWID;
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`),
  },
  {
    version: 4,
    description: 'per edge: last call through the lazy gateway, last direct call, reporters',
    up: (db) =>
      db.exec(`
        ALTER TABLE edges ADD COLUMN via_gateway INTEGER;
        ALTER TABLE edges ADD COLUMN direct INTEGER;
        ALTER TABLE edges ADD COLUMN reporters TEXT NOT NULL DEFAULT '';`),
  },
];
