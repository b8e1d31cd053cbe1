// The HTTP/1.1 request parser against Node's llhttp, every run: a saved corpus
// of inputs the two once read differently, then seeded random requests for a
// bounded time. MESHSCOPE_FUZZ_SEED=N replays a run, MESHSCOPE_FUZZ_MS=N runs
// longer (default 3000). See h1-differential.ts for what counts as a difference.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { disagreement, llhttpMethods } from './h1-differential.ts';

const CORPUS = fileURLToPath(new URL('./fuzz-corpus/h1-request.jsonl', import.meta.url));

/** mulberry32: small, seedable, good enough to spread cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)];
const chance = (r: Rand, p: number) => r() < p;

const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'get', 'GE T', 'FOO', 'M-SEARCH', 'G\x00T', ''];
const TARGETS = ['/', '/a?b=c', '/%7e/x', 'http://echo.shop/x', 'http://echo.shop', '*', 'echo.shop:80', '/a b', '/a\x7f', '/\xe9', '//x', 'x', 'http:/x', '/a#f'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.10', 'http/1.1', 'HTTP/0.9', 'HTTP/1.1 '];
const EOLS = ['\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '\r\r\n'];
const LENGTHS = ['0', '3', '5', '05', '+5', ' 5', '5 ', '5, 5', '5,5', '-1', 'abc', '99999999999999999', '', '5\xa0', '0x5'];
const CODINGS = ['chunked', 'chunked', 'chunked', 'Chunked', ' chunked', 'chunked ', 'gzip, chunked', 'chunked, gzip', 'chunked,chunked', 'identity', '\xa0chunked', 'chunked\t'];
const NAMES = ['X-A', 'X A', 'X-A ', ' X-A', '', 'X\x00A', 'x_a', 'X-\xe9', 'Accept', 'Cookie'];
const VALUES = ['b', ' b ', 'b c', 'b\x00', 'b\rc', '\xe9', '', '"q"', 'a,b'];
const CONNECTION = ['close', 'keep-alive', 'Keep-Alive, x-a', 'x-a'];
const SIZES = ['5', '05', '0x5', ' 5', '5 ', '5;a=b', '5;a="q"', '5 ;a', '5;', '5;a=', '5;a="b', 'fffffffffffffffff', '4', '6', '5\x00'];
const TRAILERS = ['', '', 'X-T: 1\r\n', 'Content-Length: 1\r\n', 'X-T 1\r\n', ' X-T: 1\r\n'];
const BYTES = ['\r', '\n', '\t', ' ', '\x00', ':', ';', '0', '\xe9', '\x7f', ',', '"'];

/** One request: mostly well-formed, each part sometimes not. */
function request(r: Rand): string {
  const eol = chance(r, 0.85) ? '\r\n' : pick(r, EOLS);
  let head = `${pick(r, METHODS)} ${pick(r, TARGETS)} ${pick(r, VERSIONS)}${eol}`;
  if (chance(r, 0.9)) head += `Host: echo.shop${eol}`;
  let body = '';
  const framing = r();
  if (framing < 0.35) {
    const length = pick(r, LENGTHS);
    head += `Content-Length: ${length}${eol}`;
    if (chance(r, 0.15)) head += `Content-Length: ${chance(r, 0.5) ? length : pick(r, LENGTHS)}${eol}`;
    const n = Number(length.trim()) || 0;
    body = 'x'.repeat(Math.max(0, Math.min(64, n + (chance(r, 0.8) ? 0 : Math.floor(r() * 5) - 2))));
  } else if (framing < 0.7) {
    head += `Transfer-Encoding: ${pick(r, CODINGS)}${eol}`;
    if (chance(r, 0.1)) head += `Content-Length: ${pick(r, LENGTHS)}${eol}`;
    for (let i = Math.floor(r() * 3); i > 0; i--) body += `${pick(r, SIZES)}\r\nhello\r\n`;
    body += `0\r\n${pick(r, TRAILERS)}\r\n`;
  }
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    const name = chance(r, 0.7) ? 'X-A' : pick(r, NAMES);
    head += chance(r, 0.05) ? ` folded${eol}` : `${name}: ${pick(r, VALUES)}${eol}`;
  }
  if (chance(r, 0.2)) head += `Connection: ${pick(r, CONNECTION)}${eol}`;
  return `${chance(r, 0.05) ? '\r\n' : ''}${head}${eol}${body}`;
}

/** One to three pipelined requests, then a few byte mutations now and then. */
function generate(r: Rand): Buffer {
  let text = '';
  for (let i = 1 + Math.floor(r() * (chance(r, 0.3) ? 3 : 1)); i > 0; i--) text += request(r);
  if (chance(r, 0.3)) {
    for (let i = 1 + Math.floor(r() * 3); i > 0; i--) {
      const at = Math.floor(r() * (text.length + 1));
      const op = r();
      if (op < 0.4) text = text.slice(0, at) + pick(r, BYTES) + text.slice(at);
      else if (op < 0.7) text = text.slice(0, at) + pick(r, BYTES) + text.slice(at + 1);
      else text = text.slice(0, at) + text.slice(at + 1);
    }
  }
  return Buffer.from(text, 'latin1');
}

function splitsFor(r: Rand, length: number): number[] {
  return Array.from({ length: 1 + Math.floor(r() * 3) }, () => Math.floor(r() * length));
}

interface CorpusCase {
  why: string;
  input: string;
}

test('the saved corpus: inputs the gateway and llhttp once read differently', () => {
  const cases = fs
    .readFileSync(CORPUS, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('//'))
    .map((l) => JSON.parse(l) as CorpusCase);
  assert.ok(cases.length >= 10, `corpus at ${CORPUS} has ${cases.length} cases`);
  for (const c of cases) {
    const input = Buffer.from(c.input, 'latin1');
    // Every read boundary, so no split reads it differently either.
    for (let at = 0; at <= input.length; at += Math.max(1, Math.floor(input.length / 16))) {
      const problem = disagreement(input, [at]);
      assert.equal(problem, undefined, `${c.why}: ${JSON.stringify(c.input)} split at ${at}: ${problem}`);
    }
  }
});

test('seeded differential fuzz against llhttp', () => {
  const seed = process.env.MESHSCOPE_FUZZ_SEED ? Number(process.env.MESHSCOPE_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
  const ms = Number(process.env.MESHSCOPE_FUZZ_MS ?? 3000);
  assert.ok(Number.isInteger(seed) && Number.isFinite(ms), 'MESHSCOPE_FUZZ_SEED must be an integer and MESHSCOPE_FUZZ_MS a number');
  assert.ok(llhttpMethods().includes('GET'), "Node's llhttp binding answers");
  const r = rng(seed);
  const deadline = Date.now() + ms;
  let n = 0;
  let refusedByBoth = 0;
  while (Date.now() < deadline) {
    const input = generate(r);
    const splits = splitsFor(r, input.length);
    let problem: string | undefined;
    try {
      problem = disagreement(input, splits);
    } catch (err) {
      problem = `the gateway's parser crashed: ${(err as Error).stack}`;
    }
    if (problem) {
      assert.fail(
        `differs from llhttp (MESHSCOPE_FUZZ_SEED=${seed}, case ${n}): ${problem}\n` +
          `input: ${JSON.stringify(input.toString('latin1'))}\nadd it to ${CORPUS} once fixed`,
      );
    }
    if (input.includes('HTTP/2.0')) refusedByBoth++;
    n++;
  }
  // A fuzz that ran nothing proves nothing.
  assert.ok(n >= 100, `only ${n} cases in ${ms} ms`);
  process.stdout.write(`# fuzz: ${n} cases, seed ${seed} (MESHSCOPE_FUZZ_SEED=${seed} replays)\n`);
  void refusedByBoth;
});
