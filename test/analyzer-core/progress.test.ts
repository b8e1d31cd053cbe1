import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from '../../analyzer/replay/progress.ts';

test('replay progress: at most one stderr line a second, with count and rate', () => {
  let now = 0;
  const lines: string[] = [];
  const p = new Progress('traffic.jsonl', (l) => lines.push(l), () => now);
  p.add(2000);
  now = 500;
  p.add(2000);
  assert.deepEqual(lines, []);
  now = 1000;
  p.add(2000);
  now = 1500;
  p.add(150_000);
  now = 2000;
  p.add(2000);
  assert.deepEqual(lines, ['replay: 6,000 lines of traffic.jsonl (6,000 lines/s)', 'replay: 158,000 lines of traffic.jsonl (79,000 lines/s)']);
});
