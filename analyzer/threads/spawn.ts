// Starts a worker thread that runs a TypeScript module: one entry (entry.mjs)
// registers the TypeScript loader, then imports the module named here. The
// module reads its own fields of workerData; `__module` is the entry's.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnTsWorker(module: URL, workerData: Record<string, unknown> = {}, options: Omit<WorkerOptions, 'workerData'> = {}): Worker {
  return new Worker(new URL('./entry.mjs', import.meta.url), { ...options, workerData: { ...workerData, __module: module.href } });
}
