// The analyzer's side of the store's worker thread (worker.ts): every write
// is posted there and answered by a promise that resolves once it is durable
// (or rejects with SQLite's reason). Requests run in the order they are made,
// so a pin written after a flush lands after it. The thread holds the process
// only while a request is in flight: an idle store never keeps it alive, and a
// pending write is never abandoned by an exit.
import type { Worker } from 'node:worker_threads';
import { spawnTsWorker } from '../../threads/spawn.ts';
import type { Pin, ScopeRule } from '../policy.ts';
import type { FlushBatch } from './store.ts';

export type StoreRequest = { id: number } & (
  | { op: 'save'; batch: FlushBatch }
  | { op: 'putPin'; pin: Pin }
  | { op: 'deletePin'; source: string; dest: string }
  | { op: 'putRule'; rule: ScopeRule }
  | { op: 'deleteRule'; rule: string }
  | { op: 'open' }
  | { op: 'close' }
);
export type StoreReply = { id: number; error?: string };

type Op = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The store's writes as the analyzer makes them: ordered, each resolved once durable. */
export interface StoreWrites {
  /** Gets ready now rather than at the first write; resolves once writes can start (the database is open). */
  start(): Promise<void>;
  save(batch: FlushBatch): Promise<void>;
  putPin(pin: Pin): Promise<void>;
  deletePin(source: string, dest: string): Promise<void>;
  putRule(rule: ScopeRule): Promise<void>;
  deleteRule(id: string): Promise<void>;
  /** After every write made so far, closes the store. */
  close(): Promise<void>;
}

export class StoreWorker implements StoreWrites {
  private worker?: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private closing?: Promise<void>;

  constructor(readonly file: string) {}

  /** Starts the thread now rather than at the first write (it takes a few hundred ms to boot); resolves once it has the database open. */
  start(): Promise<void> {
    return this.request({ op: 'open' });
  }

  /** Writes one flush in one transaction; the batch's latency buffer is transferred (unusable here afterwards). */
  save(batch: FlushBatch): Promise<void> {
    return this.request({ op: 'save', batch }, [batch.latency.buffer as ArrayBuffer]);
  }

  putPin(pin: Pin): Promise<void> {
    return this.request({ op: 'putPin', pin });
  }

  deletePin(source: string, dest: string): Promise<void> {
    return this.request({ op: 'deletePin', source, dest });
  }

  putRule(rule: ScopeRule): Promise<void> {
    return this.request({ op: 'putRule', rule });
  }

  deleteRule(id: string): Promise<void> {
    return this.request({ op: 'deleteRule', rule: id });
  }

  /** After every request made so far, closes the database and ends the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const w = this.worker;
      if (!w) return;
      try {
        await this.send(w, { op: 'close' });
      } finally {
        this.worker = undefined;
        await w.terminate();
      }
    })();
    return this.closing;
  }

  private request(op: Op, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.closing) return Promise.reject(new Error(`${this.file}: the store is closed`));
    return this.send((this.worker ??= this.spawn()), op, transfer);
  }

  private send(w: Worker, op: Op, transfer: ArrayBuffer[] = []): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, ...op }, transfer);
    });
  }

  private spawn(): Worker {
    const w = spawnTsWorker(new URL('./worker.ts', import.meta.url), { file: this.file });
    w.unref();
    w.on('message', (r: StoreReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      if (r.error === undefined) p.resolve();
      else p.reject(new Error(r.error));
    });
    // A thread that dies (out of memory, a bug) fails what it held; the next request starts a new one.
    w.on('error', (err) => this.lost(w, err.message));
    w.on('exit', (code) => this.lost(w, `exited with code ${code}`));
    return w;
  }

  private lost(w: Worker, why: string): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error(`${this.file}: the store's worker thread ${why}; the write is retried`));
    this.pending.clear();
  }
}
