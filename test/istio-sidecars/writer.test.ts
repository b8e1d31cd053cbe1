// The Sidecar writer against a real kube-apiserver with the Istio CRDs: what it
// writes (hosts, selector, label, field manager, accepted by the server's
// schema with strict field validation), what it leaves alone and reports,
// what it deletes and when (after the prune grace), how many writes a burst
// costs (counted by the API server), dry run, and a restart that rewrites
// nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { createNamespace } from '../harness/k8s/workloads.ts';
import { waitUntil } from '../harness/wait.ts';
import { istioSidecarRoutes, kubeSidecarApi, loadKubeConfig, sidecarMetrics, SidecarWriteError, type IstioSidecars, type IstioSidecarOptions } from '../../istio-sidecars/index.ts';
import { GATEWAY, sidecarsIn, sidecarWrites, startWriter } from './apiserver.ts';
import { FixedInventorySource } from '../../contracts/index.ts';
import { bookinfo, inventory, pods, type DeploymentSpec } from './mesh.ts';

describe('Sidecar writer on a real kube-apiserver', () => {
  let api: ApiServer;
  const shop = new FixedInventorySource(inventory(bookinfo('shop')));
  const running: IstioSidecars[] = [];
  const logs: string[] = [];
  const start = async (inv: FixedInventorySource, opts: Partial<IstioSidecarOptions> = {}) => {
    const s = await startWriter(api, inv, opts, (m) => logs.push(m));
    running.push(s);
    return s;
  };
  const stopAll = async () => {
    for (const s of running.splice(0)) await s.close();
  };

  before(async () => {
    api = await startApiServer();
    for (const ns of ['shop', 'dry', 'burst', 'grace', 'meshscope']) await createNamespace(api, ns);
  });
  after(async () => {
    await stopAll();
    await api?.stop();
  });

  it('writes one Sidecar per workload group with its scope, selector, label and field manager', async () => {
    // Prunes at once: the prune grace has its own test below.
    const { writer } = await start(shop, { pruneGraceMs: 0 });
    writer.setServiceScope('productpage.shop', ['reviews.shop', 'details.shop']);
    writer.setServiceScope('reviews.shop', ['ratings.shop']);
    writer.start();
    await writer.idle();
    const items = await sidecarsIn(api, 'shop');
    assert.deepEqual(items.map((s) => s.metadata.name).sort(), ['meshscope-details-v1', 'meshscope-productpage-v1', 'meshscope-ratings-v1', 'meshscope-reviews-v1', 'meshscope-reviews-v2']);
    const pp = items.find((s) => s.metadata.name === 'meshscope-productpage-v1');
    assert.deepEqual(pp.spec, {
      workloadSelector: { labels: { app: 'productpage', version: 'v1' } },
      egress: [{ hosts: ['istio-system/*', 'meshscope/*', 'shop/details.shop.svc.cluster.local', 'shop/reviews.shop.svc.cluster.local'] }],
      outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'meshscope-gateway.meshscope.svc.cluster.local', port: { number: GATEWAY.port } } },
    });
    assert.equal(pp.metadata.labels['app.kubernetes.io/managed-by'], 'meshscope');
    assert.equal(pp.metadata.labels['app.kubernetes.io/instance'], 'meshscope', 'the default instance');
    assert.deepEqual(pp.metadata.managedFields.map((f: any) => [f.manager, f.operation]), [['meshscope', 'Apply']]);
    const reviews = items.filter((s) => s.metadata.name.startsWith('meshscope-reviews-'));
    for (const r of reviews) assert.deepEqual(r.spec.egress[0].hosts, ['istio-system/*', 'meshscope/*', 'shop/ratings.shop.svc.cluster.local']);
    const details = items.find((s) => s.metadata.name === 'meshscope-details-v1');
    assert.deepEqual(details.spec.egress[0].hosts, ['istio-system/*', 'meshscope/*'], 'an empty scope still gets a Sidecar: every call goes to the gateway first');

    // A scope change is one more write, to that group only.
    const before = await sidecarWrites(api);
    writer.setServiceScope('productpage.shop', ['reviews.shop', 'details.shop', 'ratings.shop']);
    await writer.idle();
    assert.equal((await sidecarWrites(api)).apply - before.apply, 1);
    const res = await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-productpage-v1');
    assert.ok(res.body.spec.egress[0].hosts.includes('shop/ratings.shop.svc.cluster.local'));
  });

  it('the API server validates what is written: the schema, and unknown fields refused (strict), not dropped', async () => {
    const sidecars = kubeSidecarApi(loadKubeConfig(api.kubeconfig));
    const good = { apiVersion: 'networking.istio.io/v1' as const, kind: 'Sidecar' as const, metadata: { name: 'meshscope-probe', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'meshscope' } } };
    await assert.rejects(
      sidecars.apply({ ...good, spec: { workloadSelector: { labels: { app: 'x*' } }, egress: [{ hosts: ['./*'] }] } }),
      (err: unknown) => err instanceof SidecarWriteError && err.status === 422 && /wildcard is not supported in selector/.test(err.message),
    );
    await assert.rejects(
      sidecars.apply({ ...good, spec: { workloadSelector: { labels: { app: 'x' } }, egress: [{ hosts: ['./*'], hostz: [] }] } as never }),
      // Server-side apply refuses a field the schema does not declare whatever the validation level (its typed patch fails).
      (err: unknown) => err instanceof SidecarWriteError && /\.spec\.egress\[0\]\.hostz: field not declared in schema/.test(err.message),
    );
    assert.equal((await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-probe')).status, 404);
  });

  it('leaves a user-owned Sidecar alone and reports the workload as skipped (API and metrics)', async () => {
    await api.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'Sidecar',
        metadata: { name: 'ratings-by-hand', namespace: 'shop' },
        spec: { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] },
      }),
    });
    const userBefore = (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/ratings-by-hand')).body;
    const { writer } = running[0];
    await waitUntil(() => (api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-ratings-v1').then((r) => r.status === 404)), 'meshscope stepping back from ratings-v1');
    await writer.idle();
    const userAfter = (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/ratings-by-hand')).body;
    assert.equal(userAfter.metadata.resourceVersion, userBefore.metadata.resourceVersion, 'the user Sidecar is untouched');

    const app = Fastify();
    await app.register(istioSidecarRoutes, { writer });
    const body = (await app.inject('/api/v1/istio/sidecars?state=skipped')).json();
    await app.close();
    assert.equal(body.groups.length, 1);
    assert.deepEqual(body.groups[0].owners, ['Deployment/ratings-v1']);
    assert.match(body.groups[0].reason, /Sidecar shop\/ratings-by-hand \(managed by kubectl-client-side-apply\) already selects its pods with \{app=ratings\}/);
    const skipped = sidecarMetrics(writer).find((f) => f.name === 'meshscope_istio_workloads_skipped')!;
    assert.equal(skipped.samples[0].value, 1);
    assert.ok(logs.some((l) => l.includes('skipping Deployment/ratings-v1 in shop')));
  });

  it('a field someone else took over is a conflict: reported, not forced', async () => {
    // Someone edits meshscope's Sidecar with their own field manager.
    const path = '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-details-v1?fieldManager=kubectl-edit';
    const patched = await api.request('PATCH', path, { spec: { egress: [{ hosts: ['./*'] }] } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200);
    const { writer } = running[0];
    writer.setServiceScope('details.shop', ['ratings.shop']);
    await writer.idle();
    const g = writer.status().groups.find((x) => x.name === 'meshscope-details-v1')!;
    assert.equal(g.state, 'skipped');
    assert.match(g.reason!, /^kubectl-edit changed fields meshscope applies on Sidecar shop\/meshscope-details-v1; meshscope does not force them back/);
    const now = (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-details-v1')).body;
    assert.deepEqual(now.spec.egress, [{ hosts: ['./*'] }], 'the edit stands');
    // Were it tried (a race with the edit), the apply is not forced: the API server refuses it.
    await assert.rejects(kubeSidecarApi(loadKubeConfig(api.kubeconfig)).apply(g.sidecar!), (err: unknown) => err instanceof SidecarWriteError && err.status === 409 && /kubectl-edit/.test(err.message));
  });

  it('deletes the Sidecars no group needs any more (only its own), and recreates one deleted under it', async () => {
    const { writer } = running[0];
    // As the Kubernetes source sends it: a delta naming the one service that changed (its v2 pods are gone).
    const reviews = shop.current.service('reviews.shop')!;
    const next = shop.current.apply({ services: [{ ...reviews, workloads: reviews.workloads.filter((w) => !w.name.startsWith('reviews-v2')) }] });
    assert.deepEqual([...next.changedSince(shop.current)!], ['reviews.shop']);
    shop.set(next);
    await waitUntil(async () => (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-reviews-v2')).status === 404, 'reviews-v2 Sidecar pruned');
    await writer.idle();
    const names = (await sidecarsIn(api, 'shop')).map((s) => s.metadata.name).sort();
    assert.deepEqual(names, ['meshscope-details-v1', 'meshscope-productpage-v1', 'meshscope-reviews-v1', 'ratings-by-hand']);
    assert.ok(writer.status().pruned.some((p) => p.name === 'meshscope-reviews-v2' && p.state === 'deleted'));

    // reviews-v2 comes back: its Sidecar is written again and no longer reported as deleted.
    const back = shop.current.apply({ services: [reviews] });
    shop.set(back);
    await waitUntil(async () => (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-reviews-v2')).status === 200, 'reviews-v2 Sidecar back');
    await writer.idle();
    assert.equal(writer.status().pruned.some((p) => p.name === 'meshscope-reviews-v2'), false);
    shop.set(shop.current.apply({ services: [{ ...reviews, workloads: reviews.workloads.filter((w) => !w.name.startsWith('reviews-v2')) }] }));
    await waitUntil(async () => (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-reviews-v2')).status === 404, 'reviews-v2 Sidecar pruned again');
    await writer.idle();

    const del = await api.request('DELETE', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-reviews-v1');
    assert.equal(del.status, 200);
    await waitUntil(async () => (await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-reviews-v1')).status === 200, 'reviews-v1 Sidecar recreated');
  });

  it('a restart reads what is there and rewrites nothing', async () => {
    await running[0].writer.idle();
    const scopes: Array<[string, string[]]> = [
      ['productpage.shop', ['reviews.shop', 'details.shop', 'ratings.shop']],
      ['reviews.shop', ['ratings.shop']],
      ['details.shop', ['ratings.shop']],
    ];
    const versions = new Map((await sidecarsIn(api, 'shop')).map((s) => [s.metadata.name, s.metadata.resourceVersion]));
    await stopAll();
    const writesBefore = await sidecarWrites(api);
    const { writer } = await start(new FixedInventorySource(shop.current));
    for (const [s, d] of scopes) writer.setServiceScope(s, d);
    writer.start();
    await writer.idle();
    assert.deepEqual(await sidecarWrites(api), writesBefore, 'no write after a restart with the same scopes');
    const after = new Map((await sidecarsIn(api, 'shop')).map((s) => [s.metadata.name, s.metadata.resourceVersion]));
    assert.deepEqual(after, versions);
    const states = new Map(writer.status().groups.map((g) => [g.name ?? g.owners[0], g.state]));
    assert.equal(states.get('meshscope-productpage-v1'), 'current');
    assert.equal(states.get('meshscope-ratings-v1'), 'skipped');
    assert.equal(states.get('meshscope-details-v1'), 'skipped', 'the edited Sidecar stays the editor\'s, without a refused apply each start');
  });

  it('a group gone for less than the prune grace keeps its Sidecar untouched; gone longer, it is deleted when the grace is over', async () => {
    await stopAll();
    const grace = new FixedInventorySource(inventory(bookinfo('grace')));
    const reviews = grace.current.service('reviews.grace')!;
    const v1Only = () => grace.current.apply({ services: [{ ...reviews, workloads: reviews.workloads.filter((w) => !w.name.startsWith('reviews-v2')) }] });
    const path = '/apis/networking.istio.io/v1/namespaces/grace/sidecars/meshscope-reviews-v2';
    const prune = (w: IstioSidecars['writer']) => w.status().pruned.find((p) => p.namespace === 'grace' && p.name === 'meshscope-reviews-v2');
    // A grace no loaded machine can outrun: the group is back long before it ends.
    const GRACE = 10 * 60_000;
    // An instance of its own: the Sidecars earlier tests left in other namespaces are not its to prune.
    const { writer } = await start(grace, { pruneGraceMs: GRACE, instance: 'grace' });
    writer.start();
    await writer.idle();
    const written = (await api.request('GET', path)).body;
    const writes = await sidecarWrites(api);

    // A Recreate rollout: every reviews-v2 pod is gone…
    const gone = Date.now();
    grace.set(v1Only());
    await writer.idle();
    const pending = prune(writer);
    assert.equal(pending?.state, 'pending', 'reported as a pending prune');
    assert.ok(Date.parse(pending.due!) >= gone + GRACE && Date.parse(pending.due!) <= Date.now() + GRACE, `due when the grace is over: ${pending.due}`);
    assert.equal(sidecarMetrics(writer).find((f) => f.name === 'meshscope_istio_sidecar_prunes_pending')!.samples[0].value, 1);
    const app = Fastify();
    await app.register(istioSidecarRoutes, { writer });
    const served = (await app.inject('/api/v1/istio/sidecars?namespace=grace')).json();
    await app.close();
    assert.deepEqual(served.pruned.map((p: any) => [p.name, p.state, p.due]), [['meshscope-reviews-v2', 'pending', pending.due]]);
    assert.equal((await api.request('GET', path)).status, 200);

    // …and its new pods (new names, the same Deployment) come up within the grace.
    const newPods = pods({ name: 'reviews-v2', namespace: 'grace', service: 'reviews', labels: { app: 'reviews', version: 'v2' }, replicas: 3 });
    grace.set(grace.current.apply({ services: [{ ...reviews, workloads: [...reviews.workloads.filter((w) => !w.name.startsWith('reviews-v2')), ...newPods] }] }));
    await writer.idle();
    assert.equal(prune(writer), undefined, 'no prune pending any more');
    assert.equal((await api.request('GET', path)).body.metadata.resourceVersion, written.metadata.resourceVersion, 'neither deleted nor rewritten');
    assert.deepEqual(await sidecarWrites(api), writes);
    assert.ok(logs.includes('istio sidecars: grace/meshscope-reviews-v2 is needed again within the grace period; kept'));

    // Gone again; closing the writer cancels the pending prune's timer (else it would hold this process for GRACE).
    grace.set(v1Only());
    await writer.idle();
    assert.equal(prune(writer)?.state, 'pending');
    await stopAll();
    assert.equal(writer.prunesPending, 0);

    // It stays gone: a writer with a short grace finds it unneeded, and deletes it once the grace is over, not before.
    const { writer: short } = await start(new FixedInventorySource(grace.current), { pruneGraceMs: 1500, instance: 'grace' });
    let deletedAt = 0;
    short.on('deleted', (_ns, name) => name === 'meshscope-reviews-v2' && (deletedAt = Date.now()));
    short.start();
    await short.idle();
    const due = Date.parse(prune(short)!.due!);
    await waitUntil(async () => (await api.request('GET', path)).status === 404, 'reviews-v2 Sidecar deleted after the grace', 30_000);
    // Timers and Date.now() are different clocks: a few ms of slack.
    assert.ok(deletedAt >= due - 20, `deleted ${due - deletedAt} ms before it was due`);
    await short.idle();
    assert.equal(prune(short)?.state, 'deleted');
    assert.equal((await sidecarWrites(api)).delete - writes.delete, 1);
    assert.deepEqual((await sidecarsIn(api, 'grace')).map((s) => s.metadata.name).sort(), ['meshscope-details-v1', 'meshscope-productpage-v1', 'meshscope-ratings-v1', 'meshscope-reviews-v1']);
  });

  it('dry run serves what would be written and writes nothing', async () => {
    await stopAll();
    const writesBefore = await sidecarWrites(api);
    const { writer } = await start(new FixedInventorySource(inventory(bookinfo('dry'))), { dryRun: true });
    writer.setServiceScope('productpage.dry', ['details.dry']);
    writer.start();
    await writer.idle();
    assert.deepEqual(await sidecarWrites(api), writesBefore);
    assert.deepEqual(await sidecarsIn(api, 'dry'), []);
    const pp = writer.status().groups.find((g) => g.name === 'meshscope-productpage-v1')!;
    assert.equal(pp.state, 'would-write');
    assert.deepEqual(pp.sidecar!.spec.egress[0].hosts, ['istio-system/*', 'meshscope/*', 'dry/details.dry.svc.cluster.local']);
    assert.ok(logs.some((l) => l.startsWith('istio sidecars (dry run): would apply') && l.includes('"meshscope-productpage-v1"')));
  });

  it('a burst of 1000 new edges is one write per workload group', async () => {
    await stopAll();
    const callers: DeploymentSpec[] = Array.from({ length: 40 }, (_, i) => ({ name: `caller-${i}`, namespace: 'burst', service: `caller-${i}`, labels: { app: `caller-${i}` }, replicas: 2 }));
    const targets = Array.from({ length: 100 }, (_, i) => ({ name: `svc-${i}`, namespace: 'burst' }));
    const { writer } = await start(new FixedInventorySource(inventory(callers, targets)), { tuning: { quietMs: 100, maxDelayMs: 2000 } });
    writer.start();
    await writer.idle();
    const base = await sidecarWrites(api);
    assert.equal(base.apply >= 40, true);

    // 1000 edges arrive over ~0.5 s in batches, as analyzer flushes deliver them: each one widens a caller's scope.
    const scope = new Map<string, string[]>();
    for (let batch = 0; batch < 20; batch++) {
      for (let j = 0; j < 50; j++) {
        const e = batch * 50 + j;
        const caller = `caller-${e % 40}.burst`;
        const list = scope.get(caller) ?? [];
        list.push(`svc-${Math.floor(e / 40)}.burst`);
        scope.set(caller, list);
        writer.setServiceScope(caller, list);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await writer.idle();
    const after = await sidecarWrites(api);
    assert.equal(after.apply - base.apply, 40, 'one apply per caller group');
    const items = await sidecarsIn(api, 'burst');
    const c0 = items.find((s) => s.metadata.name === 'meshscope-caller-0');
    assert.equal(c0.spec.egress[0].hosts.length, 2 + 25);
  });
});
