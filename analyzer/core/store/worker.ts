// The store's worker thread: owns the SQLite connection that writes, and runs
// each request (a flush, a pin, a rule) in arrival order, so a write that
// waits on the disk (synchronous=FULL: an fsync per flush) or on another
// writer's lock never stalls the analyzer's event loop. Replies say done or
// why not; the analyzer's failure policy (flush-health.ts) decides what next.
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from './store.ts';
import type { StoreReply, StoreRequest } from './store-worker.ts';

const port = parentPort!;
const file = (workerData as { file: string }).file;
// Opened on the first request and again after a failed open, so a store that was missing comes back by itself.
let store: Store | undefined;

port.on('message', (req: StoreRequest) => {
  let reply: StoreReply = { id: req.id };
  try {
    if (req.op === 'close') store?.close();
    else run((store ??= Store.open(file)), req);
  } catch (err) {
    reply = { id: req.id, error: (err as Error).message };
  }
  port.postMessage(reply);
  if (req.op === 'close') port.close();
});

function run(s: Store, req: Exclude<StoreRequest, { op: 'close' }>): void {
  switch (req.op) {
    case 'open':
      return;
    case 'save':
      return s.save(req.batch);
    case 'putPin':
      return s.putPin(req.pin);
    case 'deletePin':
      return s.deletePin(req.source, req.dest);
    case 'putRule':
      return s.putRule(req.rule);
    case 'deleteRule':
      return s.deleteRule(req.rule);
  }
}
