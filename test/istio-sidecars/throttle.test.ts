// How Sidecar writes are spaced: the token bucket's rate after its burst, the
// debounce's quiet window and cap, the limit on writes in flight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Debounce, eachLimited, TokenBucket } from '../../istio-sidecars/throttle.ts';

describe('write throttling', () => {
  it('lets a burst through at once, then spaces writes at the rate', async () => {
    const bucket = new TokenBucket(50, 3);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await bucket.take();
    const burst = performance.now() - t0;
    for (let i = 0; i < 5; i++) await bucket.take();
    const total = performance.now() - t0;
    assert.ok(burst < 50, `the burst of 3 waited ${burst.toFixed(0)} ms`);
    // 5 more at 50/s take at least 100 ms (timers never fire early).
    assert.ok(total >= 95, `8 takes at 50/s after a burst of 3 took only ${total.toFixed(0)} ms`);
    assert.throws(() => new TokenBucket(0, 1), /qps must be > 0/);
  });

  it('fires once after the changes go quiet, or at the cap under steady change', async () => {
    let fired = 0;
    const quiet = new Debounce(30, 10_000, () => fired++);
    for (let i = 0; i < 5; i++) quiet.poke();
    assert.equal(quiet.pending, true);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => !quiet.pending && (clearInterval(poll), resolve()), 5);
    });
    assert.equal(fired, 1);

    let capped = 0;
    const steady = new Debounce(50, 120, () => capped++);
    const t0 = performance.now();
    // A change every 10 ms never leaves 50 ms of quiet; the cap fires it anyway.
    while (capped === 0 && performance.now() - t0 < 5_000) {
      steady.poke();
      await new Promise((r) => setTimeout(r, 10));
    }
    steady.cancel();
    assert.equal(capped, 1);
    assert.ok(performance.now() - t0 < 2_000, 'fired at the cap, not after the changes stopped');
  });

  it('keeps at most the limit in flight and runs every item', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimited([...Array(20).keys()], 4, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      done.push(i);
    });
    assert.equal(most, 4);
    assert.deepEqual(done.sort((a, b) => a - b), [...Array(20).keys()]);
  });
});
