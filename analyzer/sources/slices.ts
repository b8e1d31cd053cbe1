// Bulk input (a large POST, a Kafka backlog) is ingested in bounded slices
// with a turn of the event loop between them, so xDS pushes, the API and
// /healthz keep being served while it goes in. Bulk work also keeps
// the thread only partly busy: once the loop has been active a budget since the
// last rest (slices, a Kafka fetch's decode, whatever ran), bulk work rests on a
// timer, so what is latency-bound (the gateway's thread, a liveness probe) and
// the processes beside it on a small machine (the broker) keep a share of the
// CPU; a backlog drains slower, never starving them. The budget is half the
// loop while nothing latency-bound is being served, a quarter while it is
// (`interactive`): a drain at start-up beside live traffic is the case to protect.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { addResult, emptyResult, type IngestResult, type IngestTarget, type RawInput, type RejectionLog } from './ingest-target.ts';

/**
 * A slice holds the loop about SLICE_MS, whatever a record costs now: a backlog drained at
 * start runs its first records through code V8 has not compiled yet (several times slower),
 * a busy machine runs everything slower. With a fixed count of 250 the drain's gateway p99 was
 * ~2 ms higher (test/analyzer/event-loop.test.ts).
 */
const SLICE_MS = 0.5;
/** Cold code: the first slice is small; each one after may at most double. */
const MIN_SLICE = 16;
const MAX_SLICE = 2000;

/** Sizes the next slice from what the last one cost; shared, like `since`: the cost is this thread's. */
export class SliceSizer {
  private size = MIN_SLICE;

  next(): number {
    return this.size;
  }

  /** `n` records took `ms`. */
  took(n: number, ms: number): void {
    const fit = ms > 0 ? Math.floor((n * SLICE_MS) / ms) : MAX_SLICE;
    this.size = Math.max(MIN_SLICE, Math.min(MAX_SLICE, 2 * n, fit));
  }
}

const sizer = new SliceSizer();

/**
 * Busy budget and rest (ms). Without rests a 1M-line post held the gateway's p99 at 2-2.5× idle on
 * 2 cores. With the gateway on its own thread, a Kafka drain of 300k records beside a stream of
 * calls (test/analyzer/event-loop.test.ts, three runs each): at half the loop 2.5-2.8 s and the
 * calls' p99 8.2-12.3 ms against 5.1-6.3 ms idle (1.6-2.0×); at a quarter 3.4-4.0 s and
 * 8.3-10.1 ms against 5.6-7.4 ms (1.2-1.8×). Without calls a drain keeps half the loop.
 */
const PACE = { quiet: { busyMs: 2, restMs: 2 }, interactive: { busyMs: 1, restMs: 3 } };
/** Latency-bound work this recent keeps bulk work at the smaller budget. */
const INTERACTIVE_WINDOW_MS = 250;

/**
 * Whether latency-bound work is being served: counters that move with it (the calls the gateway
 * reported, the API's requests) are read at each pace(), so the servers need no hook into bulk work.
 */
export class Activity {
  /** Each counter and the value it had when last read. */
  private readonly counters = new Map<() => number, number>();
  private seenAt = -Infinity;

  /** Adds a counter (its current value is no activity); returns the function that removes it. */
  watch(counter: () => number): () => void {
    this.counters.set(counter, counter());
    return () => void this.counters.delete(counter);
  }

  /** True while a watched counter moved within the window. */
  recent(now = performance.now()): boolean {
    for (const [counter, last] of this.counters) {
      const value = counter();
      if (value === last) continue;
      this.counters.set(counter, value);
      this.seenAt = now;
    }
    return now - this.seenAt < INTERACTIVE_WINDOW_MS;
  }
}

/** This thread's latency-bound work; the analyzer's app registers the gateway's and the API's counters. */
export const interactive = new Activity();

/** The loop's utilization since the last rest; shared: the thread is one, whichever transport is busy. */
let since = performance.eventLoopUtilization();

/** Between two pieces of bulk work: the next turn, or a rest if the loop has been busy long enough. */
export async function pace(): Promise<void> {
  const { busyMs, restMs } = interactive.recent() ? PACE.interactive : PACE.quiet;
  if (performance.eventLoopUtilization(since).active < busyMs) return void (await nextTurn());
  await sleep(restMs);
  since = performance.eventLoopUtilization();
}

export async function ingestSlices(target: IngestTarget, inputs: readonly RawInput[], rejections?: RejectionLog): Promise<IngestResult> {
  const total = emptyResult();
  for (let i = 0; i < inputs.length; ) {
    const slice = inputs.slice(i, i + sizer.next());
    const t0 = performance.now();
    addResult(total, target.ingest(slice, rejections));
    sizer.took(slice.length, performance.now() - t0);
    i += slice.length;
    await pace();
  }
  return total;
}
