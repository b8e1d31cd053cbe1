// The store's worker thread starts here. Node 20 gives a worker none of the
// parent's module hooks, so the TypeScript loader the process runs under
// (tsx, see bin/meshscope.mjs) is registered again before the worker proper.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./worker.ts', import.meta.url).href);
