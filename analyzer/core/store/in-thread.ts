// A ':memory:' store (replay's default, benches, tests) is read by nobody but
// this analyzer and waits on no disk: its writes run on this thread, into the
// database the analyzer was restored from, and no worker thread is booted
// (a few hundred ms of CPU) for data no one else could see.
import type { Pin, ScopeRule } from '../policy.ts';
import type { FlushBatch, Store } from './store.ts';
import type { StoreWrites } from './store-worker.ts';

export class InThreadStore implements StoreWrites {
  constructor(private readonly store: Store) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  save(batch: FlushBatch): Promise<void> {
    return settle(() => this.store.save(batch));
  }

  putPin(pin: Pin): Promise<void> {
    return settle(() => this.store.putPin(pin));
  }

  deletePin(source: string, dest: string): Promise<void> {
    return settle(() => this.store.deletePin(source, dest));
  }

  putRule(rule: ScopeRule): Promise<void> {
    return settle(() => this.store.putRule(rule));
  }

  deleteRule(id: string): Promise<void> {
    return settle(() => this.store.deleteRule(id));
  }

  close(): Promise<void> {
    return settle(() => this.store.close());
  }
}

/** The write's outcome as a promise, as the worker's writes are answered. */
function settle(write: () => void): Promise<void> {
  try {
    write();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err);
  }
}
