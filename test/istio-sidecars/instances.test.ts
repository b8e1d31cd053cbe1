// Two meshscope installs in one cluster (a real kube-apiserver with the Istio
// CRDs), each with its own --instance: each writes its groups' Sidecars and
// catch-all EnvoyFilters, prunes only its own (at once: no prune grace here,
// so nothing is spared by waiting), reports the other's as foreign, and cannot
// overwrite them even by a direct apply (its own field manager).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { createNamespace } from '../harness/k8s/workloads.ts';
import { waitUntil } from '../harness/wait.ts';
import { instanceNamed, kubeSidecarApi, loadKubeConfig, SidecarWriteError, type IstioSidecars } from '../../istio-sidecars/index.ts';
import { attachCatchAllFilters, kubeEnvoyFilterApi } from '../../istio-sidecars/catch-all-filter.ts';
import { GATEWAY, sidecarsIn, startWriter } from './apiserver.ts';
import { FixedInventorySource } from '../../contracts/index.ts';
import { bookinfo, inventory, type DeploymentSpec } from './mesh.ts';

const web = (ns: string): DeploymentSpec => ({ name: 'web', namespace: ns, service: 'web', labels: { app: 'web' } });
const shop = (ns: string): DeploymentSpec => ({ name: 'shop', namespace: ns, service: 'shop', labels: { app: 'shop' } });

describe('two meshscope installs in one cluster', () => {
  let api: ApiServer;
  const running: Array<IstioSidecars & { detach: () => void }> = [];
  const logs: string[] = [];

  /** An install: a writer with its instance and its catch-all EnvoyFilters, started. */
  const install = async (instance: string, inv: FixedInventorySource) => {
    const s = await startWriter(api, inv, { instance, pruneGraceMs: 0 }, (m) => logs.push(`${instance}: ${m}`));
    const detach = attachCatchAllFilters(s.writer, kubeEnvoyFilterApi(loadKubeConfig(api.kubeconfig)), GATEWAY, 'cluster.local', (m) => logs.push(`${instance}: ${m}`));
    const entry = { ...s, detach };
    running.push(entry);
    s.writer.start();
    await s.writer.idle();
    return entry;
  };
  const stop = async (i: (typeof running)[number]) => {
    running.splice(running.indexOf(i), 1);
    i.detach();
    await i.close();
  };
  const filtersIn = async (ns: string): Promise<any[]> => (await api.request('GET', `/apis/networking.istio.io/v1alpha3/namespaces/${ns}/envoyfilters`)).body.items;
  /** name@resourceVersion of every Sidecar and EnvoyFilter in these namespaces. */
  const versions = async (...namespaces: string[]) => {
    const out: string[] = [];
    for (const ns of namespaces) {
      for (const s of await sidecarsIn(api, ns)) out.push(`sidecar ${ns}/${s.metadata.name}@${s.metadata.resourceVersion}`);
      for (const f of await filtersIn(ns)) out.push(`envoyfilter ${ns}/${f.metadata.name}@${f.metadata.resourceVersion}`);
    }
    return out.sort();
  };
  const names = async (ns: string) => ({ sidecars: (await sidecarsIn(api, ns)).map((s) => s.metadata.name).sort(), filters: (await filtersIn(ns)).map((f) => f.metadata.name).sort() });

  before(async () => {
    api = await startApiServer();
    for (const ns of ['team-a', 'team-b', 'shared', 'meshscope']) await createNamespace(api, ns);
  });
  after(async () => {
    for (const i of [...running]) await stop(i);
    await api?.stop();
  });

  const alphaInv = new FixedInventorySource(inventory([...bookinfo('team-a'), web('shared')]));
  const betaInv = new FixedInventorySource(inventory([...bookinfo('team-b'), web('shared'), shop('shared')]));
  const TEAM = ['meshscope-details-v1', 'meshscope-productpage-v1', 'meshscope-ratings-v1', 'meshscope-reviews-v1', 'meshscope-reviews-v2'];

  it('each writes its own groups; neither prunes nor overwrites the other\'s; each reports the other\'s as foreign', async () => {
    let alpha = await install('alpha', alphaInv);
    await waitUntil(async () => (await filtersIn('team-a')).length === 5 && (await filtersIn('shared')).length === 1, "alpha's EnvoyFilters");
    assert.deepEqual(await names('team-a'), { sidecars: TEAM, filters: TEAM });
    const webSidecar = (await sidecarsIn(api, 'shared'))[0];
    assert.equal(webSidecar.metadata.name, 'meshscope-web');
    assert.deepEqual(webSidecar.metadata.labels, { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'alpha' });
    assert.deepEqual(webSidecar.metadata.managedFields.map((f: any) => f.manager), ['meshscope-alpha']);
    assert.deepEqual((await filtersIn('shared'))[0].metadata.labels, webSidecar.metadata.labels, 'the EnvoyFilter carries its Sidecar\'s labels');
    const alphas = await versions('team-a', 'shared');

    // beta starts with alpha's objects in place: its first prune sees them all.
    const beta = await install('beta', betaInv);
    await waitUntil(async () => (await filtersIn('team-b')).length === 5 && (await filtersIn('shared')).length === 2, "beta's EnvoyFilters");
    assert.deepEqual(await names('team-b'), { sidecars: TEAM, filters: TEAM });
    assert.deepEqual(await names('shared'), { sidecars: ['meshscope-shop', 'meshscope-web'], filters: ['meshscope-shop', 'meshscope-web'] });
    const shopSidecar = (await sidecarsIn(api, 'shared')).find((s) => s.metadata.name === 'meshscope-shop');
    assert.equal(shopSidecar.metadata.labels['app.kubernetes.io/instance'], 'beta');
    assert.deepEqual(shopSidecar.metadata.managedFields.map((f: any) => f.manager), ['meshscope-beta']);
    const mine = (v: string[]) => v.filter((x) => !x.includes('meshscope-shop@'));
    assert.deepEqual(mine(await versions('team-a', 'shared')), alphas, "alpha's Sidecars and EnvoyFilters: not pruned, not rewritten");
    const bWeb = beta.writer.status().groups.find((g) => g.namespace === 'shared' && g.name === 'meshscope-web')!;
    assert.equal(bWeb.state, 'skipped');
    assert.equal(bWeb.reason, 'Sidecar shared/meshscope-web (meshscope instance "alpha") has the name meshscope would write; it is not this install\'s (instance "beta")');
    assert.ok(logs.some((l) => l.startsWith('beta: istio sidecars: skipping Deployment/web in shared: Sidecar shared/meshscope-web (meshscope instance "alpha")')));

    // alpha, running, saw beta's writes come in (its watch): it prunes none of them. A group of its own
    // that goes (reviews-v2) is pruned at once, with its EnvoyFilter: pruning still works.
    const reviews = alphaInv.current.service('reviews.team-a')!;
    alphaInv.set(alphaInv.current.apply({ services: [{ ...reviews, workloads: reviews.workloads.filter((w) => !w.name.startsWith('reviews-v2')) }] }));
    await waitUntil(async () => !(await names('team-a')).filters.includes('meshscope-reviews-v2'), "alpha's reviews-v2 EnvoyFilter deleted with its Sidecar");
    await alpha.writer.idle();
    assert.deepEqual(await names('team-a'), { sidecars: TEAM.filter((n) => n !== 'meshscope-reviews-v2'), filters: TEAM.filter((n) => n !== 'meshscope-reviews-v2') });
    const betas = await versions('team-b');
    assert.equal(betas.length, 10);

    // alpha restarted, now also wanting shop in shared (which beta wrote): it reports it as beta's and writes nothing.
    await stop(alpha);
    const snapshot = await versions('team-a', 'team-b', 'shared');
    alpha = await install('alpha', new FixedInventorySource(alphaInv.current.apply({ services: inventory([shop('shared')]).services })));
    const aShop = alpha.writer.status().groups.find((g) => g.namespace === 'shared' && g.name === 'meshscope-shop')!;
    assert.equal(aShop.state, 'skipped');
    assert.equal(aShop.reason, 'Sidecar shared/meshscope-shop (meshscope instance "beta") has the name meshscope would write; it is not this install\'s (instance "alpha")');
    assert.deepEqual(await versions('team-a', 'team-b', 'shared'), snapshot, 'a restart of alpha changes nothing of either');
  });

  it('an apply over the other install\'s Sidecar is refused by the API server (each applies as its own field manager)', async () => {
    const beta = running.find((i) => i.writer.instance.name === 'beta')!;
    const wanted = beta.writer.status().groups.find((g) => g.namespace === 'shared' && g.name === 'meshscope-web')!.sidecar!;
    assert.equal(wanted.metadata.labels['app.kubernetes.io/instance'], 'beta');
    const before = (await sidecarsIn(api, 'shared')).find((s) => s.metadata.name === 'meshscope-web');
    // As if beta's view lagged and it tried anyway: the instance label is alpha's field, and differs.
    await assert.rejects(kubeSidecarApi(loadKubeConfig(api.kubeconfig)).apply(wanted), (err: unknown) => err instanceof SidecarWriteError && err.status === 409 && /meshscope-alpha/.test(err.message));
    const after = (await sidecarsIn(api, 'shared')).find((s) => s.metadata.name === 'meshscope-web');
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);

    // The catch-all EnvoyFilter of that name is alpha's too: beta's delete leaves it alone.
    const filters = kubeEnvoyFilterApi(loadKubeConfig(api.kubeconfig));
    assert.equal(await filters.delete('shared', 'meshscope-web', instanceNamed('beta')), false);
    assert.ok((await names('shared')).filters.includes('meshscope-web'));
  });
});
