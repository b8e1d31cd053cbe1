// Bulk ingest (a large post, a Kafka backlog) keeps the event loop about half
// free: once the loop has been busy 2 ms since the last rest, the next slice
// waits 2 ms on a timer. Yielding with setImmediate alone would keep the loop
// (and on a 2-core machine, a core) 100% busy until the bulk is in.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { SLICE, ingestSlices } from '../../analyzer/sources/slices.ts';
import { emptyResult, type IngestTarget, type RawInput } from '../../analyzer/sources/ingest-target.ts';

test('bulk ingest rests between slices: the loop stays at most ~half busy, every slice goes in', async () => {
  let ingested = 0;
  // Each slice costs 0.5 ms of this thread, as ~250 real records do.
  const target: IngestTarget = {
    ingest: (batch) => {
      const until = performance.now() + 0.5;
      while (performance.now() < until);
      ingested += batch.length;
      return { ...emptyResult(), accepted: batch.length };
    },
    flush: async () => {},
  };
  const inputs: RawInput[] = Array.from({ length: SLICE * 80 }, (_, i) => ({ value: '{}', ref: `t:${i}` }));
  const before = performance.eventLoopUtilization();
  const result = await ingestSlices(target, inputs);
  const { utilization, active } = performance.eventLoopUtilization(before);
  assert.equal(result.accepted, inputs.length);
  assert.equal(ingested, inputs.length);
  assert.ok(active >= 40, `the slices ran (${active.toFixed(0)} ms active)`);
  assert.ok(utilization < 0.7, `the loop was ${(utilization * 100).toFixed(0)}% busy during the bulk ingest (${active.toFixed(0)} ms active)`);
});
