// The reporter sends on the next tick, not on its retry interval: the first
// call to an unscoped service is on the time-to-direct path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AccessLogRecord } from '../../contracts/access-log.ts';
import { Reporter } from '../../lazy-gateway/reporter.ts';

const record = (path: string): AccessLogRecord => ({ time: new Date().toISOString(), source: 'a-1.default', authority: 'b', protocol: 'http', code: 200, path });
const nextTicks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

test('a record reaches the sink within a couple of ticks, long before the 100 ms interval', async () => {
  const batches: string[][] = [];
  const reporter = new Reporter({ send: async (b) => void batches.push(b.map((r) => r.path!)) }, { log: () => undefined });
  try {
    reporter.push(record('/a'));
    reporter.push(record('/b'));
    await nextTicks(3);
    assert.deepEqual(batches, [['/a', '/b']], 'the records of one tick go in one batch, on the next tick');
    reporter.push(record('/c'));
    await nextTicks(3);
    assert.deepEqual(batches, [['/a', '/b'], ['/c']]);
  } finally {
    await reporter.close();
  }
});

test('records queued while a send is in flight go in the next batch as soon as it settles', async () => {
  const batches: string[][] = [];
  let release!: () => void;
  const reporter = new Reporter(
    {
      send: (b) => {
        batches.push(b.map((r) => r.path!));
        return batches.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
    },
    { log: () => undefined },
  );
  try {
    reporter.push(record('/1'));
    await nextTicks(3);
    reporter.push(record('/2'));
    reporter.push(record('/3'));
    await nextTicks(3);
    assert.deepEqual(batches, [['/1']], 'one send at a time');
    release();
    await nextTicks(5);
    assert.deepEqual(batches, [['/1'], ['/2', '/3']]);
  } finally {
    await reporter.close();
  }
});
