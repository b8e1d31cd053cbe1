// Bulk input (a large POST, a 64 MiB Kafka batch) is ingested in bounded
// slices with a turn of the event loop between them, so the in-process
// gateway, xDS pushes and /healthz keep being served while it goes in.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { addResult, emptyResult, type IngestResult, type IngestTarget, type RawInput, type RejectionLog } from './ingest-target.ts';

/**
 * Records ingested per slice: ~0.2 ms of work once warm, a few ms while the process is
 * still compiling (a backlog drained at start). 500 let the drain's gateway p99 reach 36 ms
 * (bench/analyzer-drain.ts, test/analyzer/event-loop.test.ts).
 */
export const SLICE = 250;

export async function ingestSlices(target: IngestTarget, inputs: readonly RawInput[], rejections?: RejectionLog): Promise<IngestResult> {
  if (inputs.length <= SLICE) {
    const r = target.ingest(inputs, rejections);
    await nextTurn();
    return r;
  }
  const total = emptyResult();
  for (let i = 0; i < inputs.length; i += SLICE) {
    addResult(total, target.ingest(inputs.slice(i, i + SLICE), rejections));
    await nextTurn();
  }
  return total;
}
