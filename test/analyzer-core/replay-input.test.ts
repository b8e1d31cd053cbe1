// What replay does with the fixtures users really write: odd bytes in
// traffic.jsonl, empty files, an empty mesh, and every expected.yaml mistake.
// In-process (replay()), so each case costs milliseconds; replay.test.ts runs
// the command itself for exit codes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FixtureError } from '../../analyzer/replay/errors.ts';
import { replay } from '../../analyzer/replay/replay.ts';
import { ROOT } from './replay-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meshscope-replay-input-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const PAGE = 'productpage-v1-fp2z2hr8dt-5zsht.default';
const T = '2026-01-05T10:00:00.000Z';
const rec = (authority: string, extra: Record<string, unknown> = {}) => JSON.stringify({ time: T, source: PAGE, authority, ...extra });
let n = 0;

/** A bookinfo fixture with this traffic (string or bytes) and, when given, this expected.yaml. */
function fixture(traffic: string | Buffer, expected?: string, mesh?: string): string {
  const dir = join(tmp, `f${++n}`);
  mkdirSync(dir);
  if (mesh === undefined) copyFileSync(join(ROOT, 'fixtures', 'bookinfo', 'mesh.yaml'), join(dir, 'mesh.yaml'));
  else writeFileSync(join(dir, 'mesh.yaml'), mesh);
  writeFileSync(join(dir, 'traffic.jsonl'), traffic);
  if (expected !== undefined) writeFileSync(join(dir, 'expected.yaml'), expected);
  return dir;
}

const quiet = { progress: () => {} };

test('BOM, CRLF, blank lines, a huge line, garbage bytes and a last line without newline', async () => {
  const huge = rec('x'.repeat(2 << 20));
  const text = [`\uFEFF${rec('reviews')}`, '', rec('details:9080'), '   ', huge, '\x00\x01\xff garbage', rec('ratings.default')].join('\r\n');
  const r = await replay(fixture(text), quiet);
  // Blank lines are not records; every other line is, bad ones included.
  assert.deepEqual([r.report.records, r.report.rejected, r.report.unresolved], [5, 2, 0]);
  assert.deepEqual(r.report.scopes['productpage.default'], ['details.default', 'ratings.default', 'reviews.default']);
  const byReason = Object.fromEntries(r.rejected.map((e) => [e.reason, e.samples.map((s) => s.ref.replace(/.*:/, 'line '))]));
  // Line numbers are the file's, blank lines counted.
  assert.deepEqual(byReason, { 'too-large': ['line 5'], 'not-json': ['line 6'] });
  const tooLarge = r.rejected.find((e) => e.reason === 'too-large')!.samples[0];
  assert.match(tooLarge.detail, /line of \d+ bytes is over the 1048576-byte limit/);
  assert.ok(tooLarge.raw.length <= 200);
});

test('a file of random bytes: every line rejected, the replay completes', async () => {
  // 500 lines of random bytes (NULs, invalid UTF-8), each starting with a byte that is not blank.
  const lines = Array.from({ length: 500 }, () => Buffer.concat([Buffer.from([1]), randomBytes(300).map((b) => (b === 0x0a || b === 0x0d ? 0 : b))]));
  const r = await replay(fixture(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))), quiet);
  assert.deepEqual([r.report.records, r.report.rejected, r.report.edges], [500, 500, 0]);
});

test('an empty traffic.jsonl: zero records, every scope empty, an all-empty expected.yaml holds', async () => {
  const r = await replay(fixture('', 'scopes: {}\n'), quiet);
  assert.deepEqual([r.report.records, r.report.rejected, r.report.unresolved, r.report.edges], [0, 0, 0, 0]);
  assert.deepEqual(r.report.scopes, { 'details.default': [], 'productpage.default': [], 'ratings.default': [], 'reviews.default': [] });
  assert.deepEqual(r.report.check, { ok: true, missing: {}, unexpected: {} });
  assert.equal(r.report.proxies.length, 6);
});

test('a mesh with no services: valid, every usable record unresolved, nothing to scope or push', async () => {
  const r = await replay(fixture(`${rec('reviews')}\n{"time":"${T}","sourceAddress":"10.1.1.1","authority":"x"}\n`, undefined, 'apiVersion: meshscope/v1\nkind: Mesh\nservices: []\n'), quiet);
  assert.deepEqual([r.report.records, r.report.unresolved, r.report.services, r.report.edges], [2, 2, 0, 0]);
  assert.deepEqual(r.report.scopes, {});
  assert.deepEqual(r.report.proxies, []);
});

test('redelivered records count in records once each, but in neither rejected nor unresolved', async () => {
  const a = rec('reviews', { requestId: 'r-1' });
  const ext = rec('www.example.com', { requestId: 'r-2' });
  const r = await replay(fixture([a, a, ext, ext, rec('reviews')].join('\n')), quiet);
  assert.deepEqual([r.report.records, r.report.rejected, r.report.unresolved, r.duplicates], [5, 0, 1, 2]);
});

test('a record without a time, ahead of every timed one, is not lost to the epoch', async () => {
  const untimed = JSON.stringify({ source: PAGE, authority: 'ratings' });
  for (const lines of [[untimed, rec('reviews')], [rec('reviews'), untimed]]) {
    const r = await replay(fixture(lines.join('\n')), quiet);
    assert.deepEqual(r.report.scopes['productpage.default'], ['ratings.default', 'reviews.default'], lines.join(' | '));
  }
});

test('expected.yaml: a service it does not name must have an empty scope', async () => {
  const r = await replay(fixture([rec('reviews'), JSON.stringify({ time: T, source: 'ratings.default', authority: 'details' })].join('\n'), 'scopes:\n  productpage.default: [reviews.default]\n'), quiet);
  assert.deepEqual(r.report.check, { ok: false, missing: {}, unexpected: { 'ratings.default': ['details.default'] } });
});

test('expected.yaml mistakes are fixture errors naming file and line', async () => {
  const cases: Array<[string, RegExp]> = [
    ['scopes:\n  productpage.default: [reviews.default]\nowner: team-a\n', /expected\.yaml:3: unknown key "owner"; expected\.yaml holds only scopes/],
    ['scopes:\n  productpage.default: []\n  rating.default: []\n', /expected\.yaml:3: source service rating\.default is not a service of mesh\.yaml; write NAME\.NAMESPACE of a listed service \(productpage\.default, /],
    ['scopes:\n  productpage.default:\n    - {name: reviews}\n', /expected\.yaml:3: scopes\.productpage\.default: service: expected a service id NAME\.NAMESPACE/],
    ['scopes:\n  productpage.default: reviews.default\n', /expected\.yaml:2: scopes\.productpage\.default: expected a list of services/],
    ['scopes:\n  productpage.default: []\n  productpage.default: []\n', /expected\.yaml:3: not valid YAML: Map keys must be unique/],
    ['scopes: {}\nscopes: {}\n', /expected\.yaml:2: not valid YAML: Map keys must be unique/],
    ['scopes: [productpage.default]\n', /expected\.yaml:1: scopes: expected a mapping/],
    ['# nothing yet\n', /expected\.yaml: empty; write scopes: mapping each source service/],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(replay(fixture(rec('reviews'), text), quiet), (err: Error) => {
      assert.ok(err instanceof FixtureError, `${text}: ${err.stack}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('traffic.jsonl that is not a file, and a --db that already holds a store, are fixture errors', async () => {
  const dir = fixture('');
  rmSync(join(dir, 'traffic.jsonl'));
  mkdirSync(join(dir, 'traffic.jsonl'));
  await assert.rejects(replay(dir, quiet), /traffic\.jsonl: not a file/);

  const db = join(tmp, 'replay.db');
  const ok = await replay(fixture(rec('reviews')), { ...quiet, db });
  assert.equal(ok.report.records, 1);
  // Replaying into it again would add this run's counts and edges to the last one's.
  await assert.rejects(replay(fixture(rec('reviews')), { ...quiet, db }), (err: Error) => err instanceof FixtureError && /--db .*replay\.db: already exists/.test(err.message));
  // A folder that cannot be made (Node's own mkdir -p would spin forever under /proc).
  await assert.rejects(replay(fixture(rec('reviews')), { ...quiet, db: '/proc/meshscope-test/replay.db' }), /\/proc\/meshscope-test\/replay\.db: cannot open the analyzer store/);
});
