// Bulk ingest (a large post, a Kafka backlog) keeps the event loop about half
// free: once the loop has been busy 2 ms since the last rest, the next slice
// waits 2 ms on a timer. Yielding with setImmediate alone would keep the loop
// (and on a 2-core machine, a core) 100% busy until the bulk is in.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { Activity, SliceSizer, ingestSlices, interactive } from '../../analyzer/sources/slices.ts';
import { emptyResult, type IngestTarget, type RawInput } from '../../analyzer/sources/ingest-target.ts';

/** Ingests `n` records of 2 µs each; returns the loop's utilization meanwhile. */
async function bulk(n: number): Promise<{ utilization: number; active: number }> {
  let ingested = 0;
  // Each record costs 2 µs of this thread, as real warm ones do.
  const target: IngestTarget = {
    ingest: (batch) => {
      const until = performance.now() + 0.002 * batch.length;
      while (performance.now() < until);
      ingested += batch.length;
      return { ...emptyResult(), accepted: batch.length };
    },
    flush: async () => {},
  };
  const inputs: RawInput[] = Array.from({ length: n }, (_, i) => ({ value: '{}', ref: `t:${i}` }));
  const before = performance.eventLoopUtilization();
  const result = await ingestSlices(target, inputs);
  const { utilization, active } = performance.eventLoopUtilization(before);
  assert.equal(result.accepted, inputs.length);
  assert.equal(ingested, inputs.length, 'every slice goes in');
  assert.ok(active >= n * 0.002, `the slices ran (${active.toFixed(0)} ms active)`);
  return { utilization, active };
}

test('bulk ingest rests between slices: the loop stays at most ~half busy', async () => {
  const { utilization, active } = await bulk(50_000);
  assert.ok(utilization < 0.7, `the loop was ${(utilization * 100).toFixed(0)}% busy during the bulk ingest (${active.toFixed(0)} ms active)`);
});

test('while latency-bound work is served, bulk ingest keeps to about a quarter of the loop', async () => {
  // Calls arriving every few ms, as the gateway reports them.
  let calls = 0;
  const arriving = setInterval(() => calls++, 5);
  const unwatch = interactive.watch(() => calls);
  try {
    const { utilization, active } = await bulk(50_000);
    assert.ok(utilization < 0.4, `the loop was ${(utilization * 100).toFixed(0)}% busy beside the calls (${active.toFixed(0)} ms active)`);
  } finally {
    clearInterval(arriving);
    unwatch();
  }
});

test('activity: recent while a watched counter moves, not once it has been still for the window, none once unwatched', () => {
  const a = new Activity();
  let n = 0;
  const unwatch = a.watch(() => n);
  assert.equal(a.recent(0), false, 'nothing moved yet');
  n++;
  assert.equal(a.recent(1_000), true);
  assert.equal(a.recent(1_200), true, 'still within the window');
  assert.equal(a.recent(1_300), false, 'still for 300 ms');
  unwatch();
  n++;
  assert.equal(a.recent(2_000), false, 'an unwatched counter says nothing');
});

test('a slice holds the loop about half a millisecond, whatever a record costs now', () => {
  const sizer = new SliceSizer();
  const first = sizer.next();
  assert.ok(first <= 16, `cold code: the first slice is small (${first})`);
  // Warm records (2 µs): the size at most doubles a slice, up to what fits half a millisecond.
  const sizes: number[] = [];
  for (let i = 0; i < 12; i++) {
    const n = sizer.next();
    sizes.push(n);
    sizer.took(n, n * 0.002);
  }
  for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i] <= 2 * sizes[i - 1], `slow start: ${sizes.join(', ')}`);
  assert.equal(sizer.next(), 250, `settles at 0.5 ms of 2 µs records: ${sizes.join(', ')}`);
  // The machine or the records turn ten times slower: the next slice is ten times smaller at once.
  sizer.took(250, 250 * 0.02);
  assert.equal(sizer.next(), 25);
  // A slice that took no measurable time does not run away.
  sizer.took(25, 0);
  assert.equal(sizer.next(), 50);
});
