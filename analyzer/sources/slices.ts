// Bulk input (a large POST, a Kafka backlog) is ingested in bounded slices
// with a turn of the event loop between them, so the in-process gateway, xDS
// pushes and /healthz keep being served while it goes in. Bulk work also keeps
// the thread only about half busy: once the loop has been active BUSY_MS since
// the last rest (slices, a Kafka fetch's decode, whatever ran), bulk work rests
// REST_MS on a timer, so what is latency-bound (a call through the gateway, a
// liveness probe) and the processes beside it on a small machine (the broker)
// keep a share of the CPU; a backlog drains a little slower, never starving them.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { addResult, emptyResult, type IngestResult, type IngestTarget, type RawInput, type RejectionLog } from './ingest-target.ts';

/**
 * Records ingested per slice: ~0.2 ms of work once warm, a few ms while the process is
 * still compiling (a backlog drained at start). 500 let the drain's gateway p99 reach 36 ms
 * (bench/analyzer-drain.ts, test/analyzer/event-loop.test.ts).
 */
export const SLICE = 250;
// Without the rests a 1M-line post held the gateway's p99 at 2-2.5× idle on 2 cores; with them 1.1-1.5×
// (test/analyzer/event-loop.test.ts). A Kafka drain takes ~2.3 s instead of ~1.7 s for 300k records.
const BUSY_MS = 2;
const REST_MS = 2;

/** The loop's utilization since the last rest; shared: the thread is one, whichever transport is busy. */
let since = performance.eventLoopUtilization();

/** Between two pieces of bulk work: the next turn, or a rest if the loop has been busy long enough. */
export async function pace(): Promise<void> {
  if (performance.eventLoopUtilization(since).active < BUSY_MS) return void (await nextTurn());
  await sleep(REST_MS);
  since = performance.eventLoopUtilization();
}

export async function ingestSlices(target: IngestTarget, inputs: readonly RawInput[], rejections?: RejectionLog): Promise<IngestResult> {
  const total = emptyResult();
  for (let i = 0; i < inputs.length; i += SLICE) {
    addResult(total, target.ingest(inputs.slice(i, i + SLICE), rejections));
    await pace();
  }
  return total;
}
