// The cache, lock and command runner live in install/ (the demo installs Envoy
// with them too); the harness keeps its import path.
export { cacheDir, progress, run, withLock, pidAlive, type RunResult } from "../../install/cache.ts";
