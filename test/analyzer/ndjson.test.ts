import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ndjsonBatches, type NdjsonLine } from '../../analyzer/sources/ndjson.ts';

async function collect(chunks: (string | Buffer)[], maxLineBytes = 64): Promise<NdjsonLine[]> {
  const out: NdjsonLine[] = [];
  async function* body() {
    yield* chunks;
  }
  for await (const batch of ndjsonBatches(body(), { maxLineBytes, batchLines: 2 })) out.push(...batch);
  return out;
}

test('lines split across chunks, CRLF, blank lines and a last line without newline', async () => {
  const lines = await collect(['{"a":', '1}\r\n\n{"b"', ':2}\n', '{"c":3}']);
  assert.deepEqual(lines, [
    { line: 1, text: '{"a":1}' },
    { line: 3, text: '{"b":2}' },
    { line: 4, text: '{"c":3}' },
  ]);
});

test('a multi-byte character split between chunks survives', async () => {
  const bytes = Buffer.from('{"s":"é"}\n');
  const lines = await collect([bytes.subarray(0, 7), bytes.subarray(7)]);
  assert.equal(lines[0].text, '{"s":"é"}');
});

test('an oversized line is reported with its size and the stream goes on', async () => {
  const long = 'x'.repeat(100);
  const lines = await collect(['{"ok":1}\n', long.slice(0, 50), long.slice(50), '\n{"ok":2}\n', `${long}\n`]);
  assert.equal(lines.length, 4);
  assert.deepEqual(lines[0], { line: 1, text: '{"ok":1}' });
  assert.equal(lines[1].tooLong, 100);
  assert.equal(lines[1].line, 2);
  assert.deepEqual(lines[2], { line: 3, text: '{"ok":2}' });
  assert.equal(lines[3].tooLong, 100);
  assert.ok(lines[3].text.length <= 200);
});
