// Every TypeScript worker thread of the analyzer starts here (see spawn.ts).
// Node 20 gives a worker none of the parent's module hooks, so the TypeScript
// loader the process runs under (tsx, see bin/meshscope.mjs) is registered
// again before the worker's own module is imported.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__module);
