// The running analyzer through real sockets: readiness, the admin token,
// live mesh.yaml edits, and pins, edges and scopes surviving a restart on the
// same data directory.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { waitUntil } from '../harness/wait.ts';
import { PAGE, native, tempMesh, type TempMesh } from './support/mesh.ts';

const TOKEN = 'app-test-token';

describe('running analyzer (real sockets)', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  const url = (path: string) => `http://127.0.0.1:${run.httpPort}${path}`;
  const logs: string[] = [];
  const start = () => startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir, adminToken: TOKEN, log: (l) => logs.push(l) });

  before(async () => {
    mesh = tempMesh('app');
    run = await start();
  });
  after(async () => {
    await run?.close();
    mesh?.remove();
  });

  it('is healthy and ready, and serves the docs', async () => {
    assert.equal((await fetch(url('/healthz'))).status, 200);
    assert.deepEqual(await fetch(url('/readyz')).then((r) => r.json()), { status: 'ready' });
    const docs = await fetch(url('/docs/'));
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    const spec = await fetch(url('/docs/json')).then((r) => r.json());
    assert.deepEqual(spec.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: 'the analyzer --admin-token' });
  });

  it('refuses pin writes without the token and keeps them across a restart', async () => {
    const pins = url('/api/v1/services/default/ratings/pins');
    const body = JSON.stringify({ services: ['details.default'] });
    const headers = { 'content-type': 'application/json' };
    assert.equal((await fetch(pins, { method: 'PUT', body, headers })).status, 401);
    const ok = await fetch(pins, { method: 'PUT', body, headers: { ...headers, authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    const post = await fetch(url('/api/v1/access-logs'), { method: 'POST', body: JSON.stringify(native(PAGE, 'reviews:9080')) });
    assert.equal((await post.json()).accepted, 1);

    await run.close();
    run = await start();
    const ratings = await fetch(url('/api/v1/services/default/ratings')).then((r) => r.json());
    assert.deepEqual(ratings.scope, ['details.default']);
    assert.deepEqual(ratings.pins.map((p: any) => p.dest), ['details.default']);
    const page = await fetch(url('/api/v1/services/default/productpage')).then((r) => r.json());
    assert.deepEqual(page.scope, ['reviews.default']);
    assert.equal(page.out[0].count, 1);
  });

  it('follows mesh.yaml edits and keeps the last good version on a bad one', async () => {
    const original = readFileSync(mesh.meshFile, 'utf8');
    writeFileSync(mesh.meshFile, `${original}  - name: payments\n    ports: [{port: 8443}]\n    workloads: [{name: payments-0, address: 10.244.9.9}]\n`);
    await waitUntil(async () => (await fetch(url('/api/v1/services')).then((r) => r.json())).some((s: any) => s.id === 'payments.default'), 'the new service', 10_000);
    const post = await fetch(url('/api/v1/access-logs'), { method: 'POST', body: JSON.stringify(native(PAGE, 'payments:8443')) });
    assert.equal((await post.json()).accepted, 1);
    assert.ok(run.analyzer.scope('productpage.default').includes('payments.default'));

    writeFileSync(mesh.meshFile, `${original}  - name: Bad_Name\n`);
    await waitUntil(() => logs.some((l) => l.includes('keeping the last good version') && l.includes('Bad_Name')), 'the bad edit to be refused', 10_000);
    assert.ok(run.analyzer.inventory.service('payments.default'), 'the last good inventory is kept');
    assert.ok(run.analyzer.scope('productpage.default').includes('payments.default'));
    writeFileSync(mesh.meshFile, original);
    await waitUntil(async () => !(await fetch(url('/api/v1/services')).then((r) => r.json())).some((s: any) => s.id === 'payments.default'), 'payments removed', 10_000);
    assert.ok(!run.analyzer.scope('productpage.default').includes('payments.default'), 'a service gone from the inventory leaves every scope');
  });
});
