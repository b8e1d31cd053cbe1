// How long a supervised worker thread that died (the Kafka consumer, the
// in-process gateway) waits before it is started again: a back-off, so a thread
// that dies at once does not spin, with the last delay repeating.
const RESTART_MS = [1_000, 2_000, 5_000, 10_000];

/** The delay before restart number `attempt` (0 for the first since the thread last ran well). */
export function restartDelay(attempt: number): number {
  return RESTART_MS[Math.min(attempt, RESTART_MS.length - 1)];
}
