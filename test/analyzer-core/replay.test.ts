import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { FIXTURES, FIXTURES_DIR, generate } from '../../fixtures/generate.ts';
import { ROOT, replayCli } from './replay-cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meshscope-replay-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(ROOT, 'fixtures', name), dir, { recursive: true });
  return dir;
}

/** The scopes the topology's `edges` imply, read here independently of the generator. */
function topologyScopes(file: string): Record<string, string[]> {
  const topo = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'topologies', file), 'utf8')) as { services: Array<{ name: string }>; edges: Array<{ from: string; to: string }> };
  const out: Record<string, string[]> = Object.fromEntries(topo.services.map((s) => [`${s.name}.default`, []]));
  for (const e of topo.edges) if (!out[`${e.from}.default`].includes(`${e.to}.default`)) out[`${e.from}.default`].push(`${e.to}.default`);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.sort()]));
}

test('the checked-in fixtures are exactly what fixtures/generate.ts produces', () => {
  for (const spec of FIXTURES) {
    for (const [name, text] of Object.entries(generate(spec))) {
      assert.ok(readFileSync(join(FIXTURES_DIR, spec.dir, name), 'utf8') === text, `fixtures/${spec.dir}/${name} drifted from fixtures/generate.ts; run it and commit the result`);
    }
  }
});

for (const [fixture, topology] of [['bookinfo', 'istio-bookinfo.json'], ['online-boutique', 'online-boutique.json']]) {
  test(`replay ${fixture}: scopes equal the published call graph, every record accounted for`, async () => {
    const run = await replayCli(`fixtures/${fixture}`, '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(report), ['fixture', 'records', 'rejected', 'unresolved', 'services', 'edges', 'scopes', 'proxies', 'check']);
    assert.equal(report.fixture, fixture);
    assert.deepEqual(report.check, { ok: true, missing: {}, unexpected: {} });
    const want = topologyScopes(topology);
    assert.deepEqual(report.scopes, want);
    assert.equal(report.edges, Object.values(want).flat().length);
    const lines = readFileSync(join(ROOT, 'fixtures', fixture, 'traffic.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
    assert.equal(report.records, lines.length);
    assert.ok(report.rejected >= 9 && report.unresolved > 0, 'the fixture carries malformed lines and external hosts');
    const mesh = parse(readFileSync(join(ROOT, 'fixtures', fixture, 'mesh.yaml'), 'utf8')) as { services: Array<{ workloads: Array<{ name: string }> }> };
    const workloads = mesh.services.flatMap((s) => s.workloads.map((w) => `${w.name}.default`));
    assert.deepEqual(report.proxies.map((p: { workload: string }) => p.workload), workloads);
    for (const p of report.proxies) {
      assert.ok(p.clusters > 0 && p.bytesScoped > 0 && p.bytesScoped < p.bytesFull, `${p.workload}: scoped ${p.bytesScoped} < full ${p.bytesFull}`);
    }
  });
}

test('bookinfo: the REST-API call to ratings on day 0 expires under the 7d TTL, not under 30d', async () => {
  const run = await replayCli('fixtures/bookinfo', '--json', '--dependency-ttl', '30d');
  assert.equal(run.code, 1);
  const report = JSON.parse(run.stdout);
  assert.deepEqual(report.check, { ok: false, missing: {}, unexpected: { 'productpage.default': ['ratings.default'] } });
});

test('a wrong expected.yaml exits 1 and shows the difference', async () => {
  const dir = copy('bookinfo');
  writeFileSync(join(dir, 'expected.yaml'), 'scopes:\n  productpage.default: [details.default, ratings.default, reviews.default]\n  details.default: [ratings.default]\n');
  const json = await replayCli(dir, '--json');
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout).check, {
    ok: false,
    missing: { 'details.default': ['ratings.default'], 'productpage.default': ['ratings.default'] },
    unexpected: { 'reviews.default': ['ratings.default'] },
  });
  const table = await replayCli(dir);
  assert.equal(table.code, 1);
  assert.match(table.stdout, /check: FAILED/);
  assert.match(table.stdout, /productpage\.default: missing ratings\.default/);
  assert.match(table.stdout, /reviews\.default: unexpected ratings\.default/);
});

test('a broken fixture exits 2 naming file and line', async () => {
  const mesh = copy('bookinfo');
  const text = readFileSync(join(mesh, 'mesh.yaml'), 'utf8').split('\n');
  const at = text.findIndex((l) => l.includes('clusterIP'));
  text[at] = text[at].replace('clusterIP', 'clusterIp');
  writeFileSync(join(mesh, 'mesh.yaml'), text.join('\n'));
  const m = await replayCli(mesh, '--json');
  assert.equal(m.code, 2);
  assert.match(m.stderr, new RegExp(`mesh\\.yaml:${at + 1}: .*unknown key "clusterIp".*did you mean "clusterIP"`));
  assert.equal(m.stdout, '');

  const exp = copy('bookinfo');
  writeFileSync(join(exp, 'expected.yaml'), 'scopes:\n  productpage.default: [details.default]\n  reviews.default:\n    - ratings.default\n    - rating.default\n');
  const e = await replayCli(exp);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /expected\.yaml:5: scopes\.reviews\.default: service rating\.default is not a service of mesh\.yaml/);

  const bad = copy('bookinfo');
  writeFileSync(join(bad, 'expected.yaml'), 'scopes:\n  productpage.default: [details.default\n');
  const b = await replayCli(bad);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /expected\.yaml:\d+: not valid YAML/);

  const none = copy('bookinfo');
  rmSync(join(none, 'traffic.jsonl'));
  const n = await replayCli(none);
  assert.equal(n.code, 2);
  assert.match(n.stderr, /traffic\.jsonl: missing/);
});

test('usage errors exit 2 with the fix', async () => {
  assert.match((await replayCli()).stderr, /expected one fixture folder/);
  const ttl = await replayCli('fixtures/bookinfo', '--dependency-ttl', 'a week');
  assert.equal(ttl.code, 2);
  assert.match(ttl.stderr, /--dependency-ttl: "a week" is not a duration/);
  const via = await replayCli('fixtures/bookinfo', '--via', 'kafka');
  assert.equal(via.code, 2);
  assert.match(via.stderr, /--via kafka needs --kafka HOST:PORT/);
  const help = await replayCli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: meshscope replay DIR/);
});

test('the result depends on record time, not on the order of records within one timestamp', async () => {
  const t = (d: number) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString();
  const rec = (time: string, source: string, authority: string) => JSON.stringify({ time, source, authority });
  const early = [rec(t(0), 'productpage-v1-fp2z2hr8dt-5zsht.default', 'ratings'), rec(t(0), 'productpage-v1-fp2z2hr8dt-5zsht.default', 'details')];
  // Day 9: past TTL + grace for both; one of them is seen again in the same instant the clock moves.
  const late = [rec(t(9), 'productpage-v1-fp2z2hr8dt-5zsht.default', 'details'), rec(t(9), 'reviews.default', 'ratings'), '{"broken', `{"time":"${t(9)}","pad":"${'x'.repeat(2 << 20)}"}`];
  const reports = [];
  for (const order of [[...early, ...late], [...early.reverse(), ...late.reverse()]]) {
    const dir = copy('bookinfo');
    rmSync(join(dir, 'expected.yaml'));
    writeFileSync(join(dir, 'traffic.jsonl'), `${order.join('\n')}\n`);
    const run = await replayCli(dir, '--json');
    assert.equal(run.code, 0, run.stderr);
    const { fixture: _, ...report } = JSON.parse(run.stdout);
    reports.push(report);
  }
  assert.deepEqual(reports[0], reports[1]);
  assert.equal(reports[0].check, undefined);
  assert.deepEqual([reports[0].records, reports[0].rejected], [6, 2]);
  assert.deepEqual(reports[0].scopes['productpage.default'], ['details.default']);
  assert.deepEqual(reports[0].scopes['reviews.default'], ['ratings.default']);
});

test('--emit sidecars writes the Istio Sidecar each scope implies', async () => {
  const out = join(tmp, 'sidecars');
  const run = await replayCli('fixtures/bookinfo', '--emit', 'sidecars', out);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['details.default.sidecar.yaml', 'productpage.default.sidecar.yaml', 'ratings.default.sidecar.yaml', 'reviews.default.sidecar.yaml']);
  const sc = parse(readFileSync(join(out, 'productpage.default.sidecar.yaml'), 'utf8'));
  assert.equal(sc.apiVersion, 'networking.istio.io/v1');
  assert.equal(sc.kind, 'Sidecar');
  assert.deepEqual(sc.metadata.name, 'productpage');
  assert.deepEqual(sc.metadata.labels, { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'meshscope' });
  assert.deepEqual(sc.spec.workloadSelector, { labels: { app: 'productpage', version: 'v1' } });
  assert.deepEqual(sc.spec.egress, [{ hosts: ['default/details.default.svc.cluster.local', 'default/reviews.default.svc.cluster.local', 'istio-system/*'] }]);
  // reviews has three versions: only the labels they share select them all.
  assert.deepEqual(parse(readFileSync(join(out, 'reviews.default.sidecar.yaml'), 'utf8')).spec.workloadSelector, { labels: { app: 'reviews' } });
  assert.match(run.stdout, /check: OK/);
});

test('a synthetic mesh from fixtures/generate.ts --synthetic replays to its own call graph; --summary is a few lines', async () => {
  const dir = join(tmp, 'synthetic-300');
  const gen = spawnSync(process.execPath, ['--import', 'tsx', 'fixtures/generate.ts', '--synthetic', '300', '--records', '1000', '--out', dir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const json = await replayCli(dir, '--json');
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.services, 300);
  assert.deepEqual(report.check, { ok: true, missing: {}, unexpected: {} });
  assert.ok(report.proxies.length >= 300 && report.proxies.every((p: { bytesScoped: number; bytesFull: number }) => p.bytesScoped < p.bytesFull));
  const summary = await replayCli(dir, '--summary');
  assert.equal(summary.code, 0, summary.stderr);
  const lines = summary.stdout.trimEnd().split('\n');
  assert.ok(lines.length <= 6, summary.stdout);
  assert.match(lines[0], new RegExp(`^fixture synthetic-300: ${report.records} records, 0 rejected, 0 unresolved.*; 300 services, ${report.edges} edges$`));
  assert.match(summary.stdout, new RegExp(`^proxies: ${report.proxies.length}; config per proxy median [\\d.]+ KiB scoped vs [\\d.]+ KiB full`, 'm'));
  assert.match(lines.at(-1)!, /^check: OK/);
  const both = await replayCli(dir, '--summary', '--json');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--json and --summary: choose one/);
});
