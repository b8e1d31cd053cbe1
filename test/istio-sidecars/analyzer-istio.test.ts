// `meshscope analyzer --istio` as its own process against a real kube-apiserver:
// a learnt edge becomes a Sidecar host, status and metrics are served, a
// restart (SQLite restore) rewrites nothing, dry run writes nothing; and the
// flags' usage errors.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAnalyzerArgs } from '../../analyzer/cli.ts';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { createNamespace, createPod, putEndpointSlice, putService } from '../harness/k8s/workloads.ts';
import { makeTempDir, ManagedProcess } from '../harness/proc.ts';
import { waitUntil } from '../harness/wait.ts';
import { sidecarsIn, sidecarWrites } from './apiserver.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const PAGE = 'productpage-v1-fp2z2hr8dt-5zsht.default';

describe('meshscope analyzer --istio (flags)', () => {
  it('reads the Istio flags, with defaults from the gateway Service', () => {
    const o = parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--istio', '--kubeconfig', 'k', '--gateway-service', 'gw.mesh:15080', '--dry-run'], {});
    assert.equal(o.mesh, 'm', 'with --istio, the inventory from --mesh and Sidecars to --kubeconfig');
    assert.deepEqual(o.istio, { kubeconfig: 'k', dryRun: true, instance: 'meshscope', pruneGraceMs: 60_000, gateway: { name: 'gw', namespace: 'mesh', port: 15080 }, alwaysVisible: ['istio-system/*', 'mesh/*'] });
    const v = parseAnalyzerArgs(['--kubeconfig', 'k', '--data', 'd', '--istio', '--always-visible', 'istio-system/*,ops/*', '--instance', 'team-a', '--prune-grace', '5m'], {});
    assert.equal(v.kubernetes?.kubeconfig, 'k');
    assert.deepEqual(v.istio, { dryRun: false, instance: 'team-a', pruneGraceMs: 300_000, gateway: undefined, alwaysVisible: ['istio-system/*', 'ops/*'] });
    assert.equal(parseAnalyzerArgs(['--mesh', 'm', '--data', 'd'], {}).istio, undefined);
  });

  it('names the flag and the fix for each misuse', () => {
    const bad = (args: string[], re: RegExp) => assert.throws(() => parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', ...args], {}), re);
    bad(['--dry-run'], /--dry-run belongs to Istio mode; add --istio/);
    bad(['--kubeconfig', 'k'], /give --mesh FILE or --kubeconfig FILE, not both/);
    bad(['--istio', '--xds-port', '1'], /Istio mode does not run \(istiod pushes\)/);
    bad(['--istio', '--gateway-service', 'gw:1'], /--gateway-service "gw:1": expected .*NAME\.NAMESPACE:PORT/);
    bad(['--istio', '--always-visible', 'nope'], /"nope" is not a Sidecar egress host/);
    bad(['--instance', 'a'], /--instance belongs to Istio mode; add --istio/);
    bad(['--prune-grace', '1m'], /--prune-grace belongs to Istio mode; add --istio/);
    bad(['--istio', '--instance', 'Team.A'], /--instance "Team.A": not a DNS label; use 1-63 lowercase letters, digits and '-'/);
    bad(['--istio', '--prune-grace', '60'], /--prune-grace: "60" is not a duration; write a number and a unit/);
  });
});

describe('meshscope analyzer --istio (process, real kube-apiserver)', () => {
  let api: ApiServer;
  let dir: string;
  const procs: ManagedProcess[] = [];
  let seq = 0;

  const spawn = async (extra: string[] = [], inventory = ['--mesh', join(dir, 'mesh.yaml'), '--data', join(dir, 'data')]) => {
    // One meshscope per cluster: one left running by a failed test would prune what the next one writes.
    for (const running of procs.splice(0)) await running.stop(5_000);
    const p = new ManagedProcess(
      `analyzer-istio-${++seq}`,
      process.execPath,
      [join(ROOT, 'bin/meshscope.mjs'), 'analyzer', ...inventory, '--listen', '127.0.0.1', '--http-port', '0', '--als-port', '0',
        '--istio', '--kubeconfig', api.kubeconfig, '--gateway-service', 'meshscope-gateway.meshscope:15080', ...extra],
      join(dir, `analyzer-${seq}.log`),
      { cwd: ROOT },
    );
    procs.push(p);
    let port = 0;
    await waitUntil(
      () => {
        const m = /analyzer listening: http=(\d+) als=\d+ istio-sidecars=(write|dry-run)/.exec(p.logTail(200));
        if (m) port = Number(m[1]);
        return !!m;
      },
      'analyzer listening',
      60_000,
      { abort: () => p.deadReason() },
    ).catch((err) => {
      throw p.failure((err as Error).message);
    });
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(res.status, 200, path);
      return path === '/metrics' ? res.text() : res.json();
    };
    return { p, port, get };
  };

  before(async () => {
    api = await startApiServer();
    await createNamespace(api, 'meshscope');
    dir = makeTempDir('analyzer-istio');
    copyFileSync(join(ROOT, 'fixtures/bookinfo/mesh.yaml'), join(dir, 'mesh.yaml'));
  });
  after(async () => {
    for (const p of procs) await p.stop(5_000);
    await api?.stop();
    if (process.env.MESHSCOPE_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('turns a learnt edge into a Sidecar host, serves status and metrics, and exits cleanly', async () => {
    const { p, port, get } = await spawn();
    const pp = () => sidecarsIn(api, 'default').then((l) => l.find((s) => s.metadata.name === 'meshscope-productpage'));
    await waitUntil(async () => (await pp()) !== undefined, 'productpage Sidecar', 20_000);
    assert.deepEqual((await pp()).spec.egress[0].hosts, ['istio-system/*', 'meshscope/*']);

    const res = await fetch(`http://127.0.0.1:${port}/api/v1/access-logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ time: new Date().toISOString(), source: PAGE, authority: 'details.default', protocol: 'http', code: 200 })}\n`,
    });
    assert.equal(res.status, 200);
    await waitUntil(async () => ((await pp()).spec.egress[0].hosts as string[]).includes('default/details.default.svc.cluster.local'), 'details in productpage\'s Sidecar', 20_000);

    // The API server can show the object before the writer has its answer (the apply is still in flight: "pending").
    let status: any;
    await waitUntil(async () => {
      status = await get('/api/v1/istio/sidecars?namespace=default');
      return status.groups.find((x: any) => x.name === 'meshscope-productpage')?.state === 'written';
    }, 'productpage reported written', 20_000);
    assert.equal(status.dryRun, false);
    const g = status.groups.find((x: any) => x.name === 'meshscope-productpage');
    assert.deepEqual(g.workloads, [PAGE]);
    const metrics = (await get('/metrics')) as string;
    assert.match(metrics, /^meshscope_istio_sidecar_writes_total\{op="apply"\} [1-9]\d*$/m);
    assert.match(metrics, /^meshscope_istio_sidecar_groups\{state="skipped"\} 0$/m);

    await p.stop();
    assert.equal(p.exitInfo?.code, 0, p.logTail());
  });

  it('restarted on the same data, it rewrites nothing', async () => {
    const before = await sidecarWrites(api);
    const versions = (await sidecarsIn(api, 'default')).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`).sort();
    const { p, get } = await spawn();
    await waitUntil(async () => ((await get('/api/v1/istio/sidecars')) as any).groups.every((g: any) => g.state === 'current'), 'every group seen current', 20_000);
    assert.deepEqual(await sidecarWrites(api), before);
    assert.deepEqual((await sidecarsIn(api, 'default')).map((s) => `${s.metadata.name}@${s.metadata.resourceVersion}`).sort(), versions);
    const pp = ((await get('/api/v1/istio/sidecars')) as any).groups.find((x: any) => x.name === 'meshscope-productpage');
    assert.ok(pp.hosts.includes('default/details.default.svc.cluster.local'), 'the restored scope');
    await p.stop();
  });

  it('--dry-run writes nothing and serves what it would write or delete', async () => {
    // Without ratings in the inventory its Sidecar is no longer needed: dry run only says it would delete it.
    const before = await sidecarWrites(api);
    const { p, get } = await spawn(['--dry-run', '--always-visible', 'istio-system/*']);
    await waitUntil(async () => ((await get('/api/v1/istio/sidecars')) as any).groups.some((g: any) => g.state === 'would-write'), 'a would-write group', 20_000);
    assert.deepEqual(await sidecarWrites(api), before);
    const pp = ((await get('/api/v1/istio/sidecars')) as any).groups.find((x: any) => x.name === 'meshscope-productpage');
    assert.equal(pp.state, 'would-write');
    assert.deepEqual(pp.sidecar.spec.egress[0].hosts, ['istio-system/*', 'default/details.default.svc.cluster.local']);
    // The analyzer logs through pino: the plain text is each JSON line's msg.
    const messages = p.logTail(400).split('\n').map((l) => {
      try {
        return String(JSON.parse(l).msg);
      } catch {
        return l;
      }
    });
    assert.ok(messages.some((m) => m.startsWith('istio sidecars (dry run): would apply {"apiVersion":"networking.istio.io/v1"')), messages.join('\n'));
    await p.stop();
  });

  it('with the inventory from Kubernetes (no --mesh): a Sidecar per Deployment, scoped by traffic, pruned when it has been gone for --prune-grace', async () => {
    await createNamespace(api, 'web');
    const rs = (deploy: string) => ({ kind: 'ReplicaSet', name: `${deploy}-7c9d5f` });
    const pods = [
      { namespace: 'web', name: 'frontend-7c9d5f-aaaaa', labels: { app: 'frontend', 'pod-template-hash': '7c9d5f' }, ip: '10.77.0.11', owner: rs('frontend') },
      { namespace: 'web', name: 'frontend-7c9d5f-bbbbb', labels: { app: 'frontend', 'pod-template-hash': '7c9d5f' }, ip: '10.77.0.12', owner: rs('frontend') },
      { namespace: 'web', name: 'backend-7c9d5f-ccccc', labels: { app: 'backend', 'pod-template-hash': '7c9d5f' }, ip: '10.77.0.13', owner: rs('backend') },
    ];
    for (const p of pods) await createPod(api, p);
    for (const app of ['frontend', 'backend']) {
      await putService(api, { namespace: 'web', name: app, selector: { app }, ports: [{ name: 'http', port: 8080 }] });
      await putEndpointSlice(api, { namespace: 'web', name: app }, pods.filter((p) => p.labels.app === app), [{ name: 'http', port: 8080 }]);
    }
    const { p, port } = await spawn(['--prune-grace', '1s'], ['--data', join(dir, 'data-k8s')]);
    const web = async () => new Map((await sidecarsIn(api, 'web')).map((s) => [s.metadata.name, s]));
    await waitUntil(async () => (await web()).size === 2, 'a Sidecar for each Deployment in web', 20_000);
    const frontend = (await web()).get('meshscope-frontend');
    assert.deepEqual(frontend.spec.workloadSelector, { labels: { app: 'frontend' } });
    assert.deepEqual(frontend.spec.egress[0].hosts, ['istio-system/*', 'meshscope/*']);

    const res = await fetch(`http://127.0.0.1:${port}/api/v1/access-logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ time: new Date().toISOString(), source: 'frontend-7c9d5f-bbbbb.web', authority: 'backend.web:8080', protocol: 'http', code: 200 })}\n`,
    });
    assert.equal(res.status, 200);
    await waitUntil(async () => (await web()).get('meshscope-frontend')?.spec.egress[0].hosts.includes('web/backend.web.svc.cluster.local'), 'backend in frontend\'s Sidecar', 20_000);

    // The backend Deployment goes: its pods and Service are deleted, so is its Sidecar.
    assert.equal((await api.request('DELETE', '/api/v1/namespaces/web/pods/backend-7c9d5f-ccccc')).status, 200);
    await waitUntil(async () => !(await web()).has('meshscope-backend'), 'the backend Sidecar pruned', 20_000);
    assert.ok((await web()).has('meshscope-frontend'));
    // After the grace the flag gave it (logged when it was found unneeded).
    assert.match(p.logTail(400), /no workload group needs web\/meshscope-backend; deleting it at \S+ unless its workloads come back/);
    await p.stop();
    assert.equal(p.exitInfo?.code, 0, p.logTail());
  });
});
