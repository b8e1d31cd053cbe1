// POST /api/v1/access-logs through a real socket: a streamed body far larger
// than any buffer, every malformed kind beside good records, counts returned.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { DEFAULT_MAX_LINE } from '../../analyzer/index.ts';
import { PAGE, envoyJson, native, tempMesh, vector, type TempMesh } from './support/mesh.ts';

describe('HTTP ingest (NDJSON over a real socket)', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  const url = () => `http://127.0.0.1:${run.httpPort}/api/v1/access-logs`;

  before(async () => {
    mesh = tempMesh('http-ingest');
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir });
  });
  after(async () => {
    await run?.close();
    mesh?.remove();
  });

  it('rejects and counts every malformed kind while the good records of the batch go through', async () => {
    const bad = [
      '{"time": ',
      '42',
      'null',
      JSON.stringify({ authority: 'reviews:9080' }),
      JSON.stringify({ source: PAGE }),
      JSON.stringify({ source: PAGE, authority: 'reviews:9080', code: { nested: true } }),
      JSON.stringify({ source: PAGE, authority: 'reviews:9080', time: 'not a time' }),
      JSON.stringify({ level: 'info', msg: 'an application log line' }),
      JSON.stringify({ message: 'plain text shipped by vector' }),
      `{"source":"${PAGE}","authority":"reviews:9080","pad":"${'x'.repeat(DEFAULT_MAX_LINE)}"}`,
    ];
    const good = [native(PAGE, 'reviews:9080'), envoyJson('10.244.1.7', 'outbound|9080||ratings.default.svc.cluster.local'), vector(native(PAGE, 'details:9080'))];
    const lines = [...bad.slice(0, 5), ...good.map((g) => JSON.stringify(g)), ...bad.slice(5), JSON.stringify(native(PAGE, 'unknown-host:80'))];
    const res = await request(url(), { method: 'POST', body: `${lines.join('\r\n')}\r\n`, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(res.statusCode, 200);
    const reply = (await res.body.json()) as any;
    assert.deepEqual({ ...reply, rejections: undefined }, { lines: 14, accepted: 3, rejected: 10, unresolved: 1, duplicates: 0, rejections: undefined, more: '/api/v1/rejected' });
    // The sender learns which lines were rejected and why, in line order.
    assert.deepEqual(
      reply.rejections.map((r: any) => [r.line, r.reason]),
      [[1, 'not-json'], [2, 'not-object'], [3, 'not-object'], [4, 'no-source'], [5, 'no-destination'],
       [9, 'wrong-type'], [10, 'bad-time'], [11, 'not-access-log'], [12, 'not-access-log'], [13, 'too-large']],
    );
    assert.match(reply.rejections[3].detail, /\S/);
    assert.deepEqual(run.analyzer.stats().rejectedByReason, {
      'not-json': 1,
      'not-object': 2,
      'no-source': 1,
      'no-destination': 1,
      'wrong-type': 1,
      'bad-time': 1,
      'not-access-log': 2,
      'too-large': 1,
    });
    assert.deepEqual(run.analyzer.scope('productpage.default'), ['details.default', 'reviews.default']);
    const tooLarge = (await request(`http://127.0.0.1:${run.httpPort}/api/v1/rejected?reason=too-large`).then((r) => r.body.json())) as any[];
    assert.ok(tooLarge[0].samples[0].raw.length <= 1001, 'only a preview of the oversized line is kept');
  });

  it('streams a body of 200k records without buffering it whole', async () => {
    const before = run.analyzer.stats().records;
    const total = 200_000;
    const time = new Date().toISOString();
    async function* body() {
      for (let i = 0; i < total; i += 1000) {
        let chunk = '';
        for (let j = i; j < i + 1000; j++) chunk += `${JSON.stringify(native(PAGE, j % 2 ? 'reviews:9080' : 'ratings:9080', { requestId: `stream-${j}`, time }))}\n`;
        yield chunk;
      }
    }
    const res = await request(url(), { method: 'POST', body: Readable.from(body()), headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { lines: total, accepted: total, rejected: 0, unresolved: 0, duplicates: 0, rejections: [] });
    assert.equal(run.analyzer.stats().records - before, total);
    const again = await request(url(), { method: 'POST', body: Readable.from(body()), headers: { 'content-type': 'application/x-ndjson' } });
    assert.deepEqual(await again.body.json(), { lines: total, accepted: 0, rejected: 0, unresolved: 0, duplicates: total, rejections: [] }, 'resent records count once');
  });

  it('takes gzip bodies as shippers send them, and says what is wrong with the rest', async () => {
    const lines = [native(PAGE, 'ratings:9080'), native(PAGE, 'details:9080')].map((l) => JSON.stringify(l)).join('\n');
    const gz = await request(url(), { method: 'POST', body: gzipSync(lines), headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' } });
    assert.deepEqual(await gz.body.json(), { lines: 2, accepted: 2, rejected: 0, unresolved: 0, duplicates: 0, rejections: [] });
    const broken = await request(url(), { method: 'POST', body: 'not gzip', headers: { 'content-encoding': 'gzip' } });
    assert.equal(broken.statusCode, 400);
    assert.match(((await broken.body.json()) as any).message, /content-encoding gzip: the body does not decode/);
    const br = await request(url(), { method: 'POST', body: 'x', headers: { 'content-encoding': 'br' } });
    assert.equal(br.statusCode, 415);
    await br.body.dump();
    const empty = await request(url(), { method: 'POST' });
    assert.equal(empty.statusCode, 400);
    assert.match(((await empty.body.json()) as any).message, /NDJSON/);
  });

  it('takes one JSON array as well, naming rejected elements by index', async () => {
    const body = JSON.stringify([native(PAGE, 'ratings:9080'), 42, { level: 'info' }, native(PAGE, 'details:9080')], null, 2);
    const res = await request(url(), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.statusCode, 200);
    const reply = (await res.body.json()) as any;
    assert.deepEqual([reply.lines, reply.accepted, reply.rejected, reply.more], [4, 2, 2, '/api/v1/rejected']);
    assert.deepEqual(reply.rejections.map((r: any) => [r.element, r.reason]), [[1, 'not-object'], [2, 'not-access-log']]);
    const broken = await request(url(), { method: 'POST', body: '[{"source": 1},' });
    assert.equal(broken.statusCode, 400);
    assert.match(((await broken.body.json()) as any).message, /starts with "\[" but is not one JSON array/);
  });

  it('names at most the first 20 rejected lines and counts the rest', async () => {
    const res = await request(url(), { method: 'POST', body: Array.from({ length: 50 }, (_, i) => `junk ${i}`).join('\n') });
    const reply = (await res.body.json()) as any;
    assert.equal(reply.rejected, 50);
    assert.deepEqual(reply.rejections.map((r: any) => r.line), Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('HTTP ingest limits: token and body size', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  const url = () => `http://127.0.0.1:${run.httpPort}/api/v1/access-logs`;
  const line = `${JSON.stringify(native(PAGE, 'reviews:9080'))}\n`;

  before(async () => {
    mesh = tempMesh('http-ingest-limits');
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir, ingestToken: 'hunter2', ingestMaxBytes: 100 * line.length });
  });
  after(async () => {
    await run?.close();
    mesh?.remove();
  });

  it('with --ingest-token, a post without the token (or with another) is refused and ingests nothing', async () => {
    const none = await request(url(), { method: 'POST', body: line });
    assert.equal(none.statusCode, 401);
    assert.match(((await none.body.json()) as any).message, /Authorization: Bearer <the analyzer --ingest-token>/);
    const wrong = await request(url(), { method: 'POST', body: line, headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    await wrong.body.dump();
    assert.equal(run.analyzer.stats().records, 0);
    const ok = await request(url(), { method: 'POST', body: line, headers: { authorization: 'Bearer hunter2' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(((await ok.body.json()) as any).accepted, 1);
  });

  it('answers 413 naming the limit and how to split, up front or once a streamed body passes it', async () => {
    const auth = { authorization: 'Bearer hunter2' };
    const declared = await request(url(), { method: 'POST', body: line.repeat(101), headers: auth });
    assert.equal(declared.statusCode, 413);
    assert.match(((await declared.body.json()) as any).message, /over the \d+ bytes limit; split the records over several posts/);
    const before = run.analyzer.stats().records;
    async function* chunks() {
      for (let i = 0; i < 150; i++) yield line;
    }
    const streamed = await request(url(), { method: 'POST', body: Readable.from(chunks()), headers: auth });
    assert.equal(streamed.statusCode, 413);
    const message = ((await streamed.body.json()) as any).message as string;
    const ingested = Number(/lines 1 to (\d+) were ingested/.exec(message)?.[1]);
    assert.equal(ingested, 100, `the complete lines within the limit are ingested: ${message}`);
    assert.match(message, new RegExp(`Post the rest \\(from line 101, byte ${100 * line.length}\\) separately`));
    assert.equal(run.analyzer.stats().records - before, ingested, 'what the reply says was ingested, was');
  });
});
