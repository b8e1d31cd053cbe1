import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isoTime } from '../../lazy-gateway/iso-time.ts';

test('access-log timestamps match Date#toISOString, across second boundaries and cache reuse', () => {
  const base = Date.UTC(2024, 1, 29, 23, 59, 59); // a leap day's last second
  const samples = [0, 7, 70, 999, 1000, base, base + 1, base + 42, base + 999, base + 1000, base + 1005, base - 1, -1, -1001, 253402300799999];
  // Each twice: the second call reads the cached prefix.
  for (const ms of [...samples, ...samples]) assert.equal(isoTime(ms), new Date(ms).toISOString(), `for ${ms}`);
});
