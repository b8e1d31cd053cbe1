// meshscope next to a real Istio, end to end, mTLS on: bookinfo
// (fixtures/bookinfo/mesh.yaml's topology) as pods — network namespaces with
// Istio's iptables capture, pilot-agent and upstream Envoy — whose small real
// servers call their dependencies; `meshscope analyzer --kubeconfig --istio`
// on the node. Nothing here is simulated but the kubelet (the harness writes
// Pod status and EndpointSlices) and DNS (/etc/hosts per pod).
//
// The `it` blocks build on one cluster but each asserts one property and
// waits for its own condition, so one failing does not hide the others.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from '../harness/k8s/pod.ts';
import { appPod, callFrom, getApp, serviceClusters, startIstioEnv, waitFor, type IstioEnv } from './support/istio-env.ts';

const NS = 'default';
const fqdn = (svc: string) => `${svc}.${NS}.svc.cluster.local`;
const spiffe = (sa: string) => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;

/**
 * What each Deployment's Sidecar must let it see. Scopes are per service, so
 * reviews-v1, which calls nobody, sees ratings like v2 and v3 do.
 */
const CALLS: Record<string, string[]> = {
  'productpage-v1': ['details', 'reviews'],
  'details-v1': [],
  'reviews-v1': ['ratings'],
  'reviews-v2': ['ratings'],
  'reviews-v3': ['ratings'],
  'ratings-v1': [],
};
const url = (svc: string) => `http://${svc}:9080/${svc}/0`;

let env: IstioEnv;
const pods = new Map<string, Pod>();

async function sidecar(name: string): Promise<any | undefined> {
  const r = await env.api.kubectl(['-n', NS, 'get', 'sidecar', name, '-o', 'json'], { allowFail: true });
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

const hostsOf = (s: any): string[] => (s?.spec?.egress?.[0]?.hosts ?? []).filter((h: string) => h.startsWith(`${NS}/`)).sort();

/** GET /productpage and every nested call, flattened: [{from, to, status, xfcc}]. */
async function productpage(): Promise<Array<{ to: string; status: number; xfcc: string | null; pod?: string }>> {
  const res = await getApp(pods.get('productpage-v1')!, '/productpage');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const out: Array<{ to: string; status: number; xfcc: string | null; pod?: string }> = [];
  const walk = (calls: any[]) => {
    for (const c of calls ?? []) {
      out.push({ to: c.url, status: c.status, xfcc: c.body?.xfcc ?? null, pod: c.body?.pod });
      walk(c.body?.calls);
    }
  };
  walk(res.body.calls);
  return out;
}

describe('meshscope next to Istio: bookinfo', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    env = await startIstioEnv();
    const specs = [
      appPod('productpage', 'v1', 'productpage-v1-fp2z2hr8dt-5zsht', { DEPS: [url('details'), url('reviews')].join(',') }),
      appPod('details', 'v1', 'details-v1-k2kvvh6frm-pwpmn'),
      appPod('reviews', 'v1', 'reviews-v1-fcvkdzqhlm-8cpl7'),
      appPod('reviews', 'v2', 'reviews-v2-6f8swhqxc6-g57r6', { DEPS: url('ratings') }),
      appPod('reviews', 'v3', 'reviews-v3-hzvszzhxsx-xggks', { DEPS: url('ratings') }),
      appPod('ratings', 'v1', 'ratings-v1-g6vv4dj82b-df29r'),
    ];
    for (const pod of await env.cluster.addPods(specs)) pods.set(pod.deployment, pod);
    for (const svc of ['productpage', 'details', 'reviews', 'ratings']) {
      await env.cluster.applyServiceFor({ name: svc, namespace: NS, ports: [{ name: 'http', port: 9080, targetPort: 9080 }], selector: { app: svc } });
    }
    await env.meshscope.start();
    // meshscope knows no traffic yet: every group gets a Sidecar that sees only istio-system and meshscope.
    await waitFor(async () => {
      for (const [dep, pod] of pods) {
        const s = await sidecar(`meshscope-${dep}`);
        if (!s || hostsOf(s).length !== 0) return false;
        if ((await serviceClusters(pod)).length !== 0) return false;
      }
      return true;
    }, 'every bookinfo proxy scoped to nothing', 120_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${env.meshscope.logTail()}\n${env.cluster.logs(10)}`);
    });
  });

  after(async () => {
    if (process.env.MESHSCOPE_KEEP_TMP) console.error(env?.cluster.logs(40), env?.meshscope.logTail(80));
    await env?.stop();
  });

  it('every first call succeeds, through the lazy gateway (plaintext from the node: no client certificate at the callee)', async () => {
    const calls = await productpage();
    assert.ok(calls.some((c) => c.to === url('details')) && calls.some((c) => c.to === url('reviews')), JSON.stringify(calls));
    for (const c of calls) {
      assert.equal(c.status, 200, JSON.stringify(c));
      assert.equal(c.xfcc, null, `${c.to} came direct, not through the gateway: ${c.xfcc}`);
    }
    // Every reviews version gets its turn (round robin in the gateway), so ratings is called too.
    for (let i = 0; i < 3; i++) for (const c of await productpage()) assert.equal(c.status, 200, JSON.stringify(c));
    // The gateway reported every call, attributed to the caller's pod by its IP.
    await waitFor(async () => {
      const edges = (await env.meshscope.get(`/api/v1/services/${NS}/productpage`)).out.map((e: any) => e.target).sort();
      return JSON.stringify(edges) === JSON.stringify(['details.default', 'reviews.default']);
    }, 'productpage → details, reviews learned');
  });

  it('the right Sidecars appear: each Deployment sees exactly what it called', async () => {
    await waitFor(async () => {
      for (const [dep, deps] of Object.entries(CALLS)) {
        const s = await sidecar(`meshscope-${dep}`);
        if (JSON.stringify(hostsOf(s)) !== JSON.stringify(deps.map((d) => `${NS}/${fqdn(d)}`).sort())) return false;
      }
      return true;
    }, 'Sidecars with the learned scopes');
    const pp = await sidecar('meshscope-productpage-v1');
    assert.equal(pp.metadata.labels['app.kubernetes.io/managed-by'], 'meshscope');
    // The Deployment's labels (the injector's own tlsMode label may be there too: every pod of it carries it).
    assert.equal(pp.spec.workloadSelector.labels.app, 'productpage');
    assert.equal(pp.spec.workloadSelector.labels.version, 'v1');
    assert.ok(pp.spec.egress[0].hosts.includes('istio-system/*') && pp.spec.egress[0].hosts.includes('meshscope/*'));
    const filter = await env.api.kubectl(['-n', NS, 'get', 'envoyfilter', 'meshscope-productpage-v1', '-o', 'json']);
    assert.equal(JSON.parse(filter.stdout).spec.configPatches[0].patch.value.route.cluster, 'outbound|80||meshscope-gateway.meshscope.svc.cluster.local');
  });

  it("each caller's Envoy ends with exactly its scope (/clusters of the real Envoy)", async () => {
    for (const [dep, deps] of Object.entries(CALLS)) {
      const want = deps.map((d) => `outbound|9080||${fqdn(d)}`).sort();
      await waitFor(async () => JSON.stringify(await serviceClusters(pods.get(dep)!)) === JSON.stringify(want), `${dep}'s Envoy to hold ${want.join(', ') || 'no service cluster'}`);
    }
  });

  it('later calls go direct, over mTLS (the callee sees the caller’s SPIFFE id), and Istio’s access logs keep the edges alive', async () => {
    await waitFor(async () => (await serviceClusters(pods.get('productpage-v1')!)).length === 2, 'productpage scoped to its two services');
    const before = await env.meshscope.get(`/api/v1/services/${NS}/productpage`);
    const count = (view: any, dest: string) => view.out.find((e: any) => e.target === dest)?.count ?? 0;
    const calls = await productpage();
    for (const c of calls.filter((x) => x.to === url('details') || x.to === url('reviews'))) {
      assert.equal(c.status, 200);
      assert.match(c.xfcc ?? '', new RegExp(`URI=${spiffe('bookinfo-productpage')}`), `${c.to} did not come direct over mTLS`);
    }
    // Nothing passes the gateway any more: the only reports of these calls are the sidecars' own (ALS).
    await waitFor(async () => {
      const now = await env.meshscope.get(`/api/v1/services/${NS}/productpage`);
      return count(now, 'details.default') > count(before, 'details.default') && count(now, 'reviews.default') > count(before, 'reviews.default');
    }, 'direct calls counted from Istio sidecar ALS');
  });

  it('time-to-direct is measured through istiod and exported (API and /metrics)', async () => {
    await waitFor(async () => {
      const t = await env.meshscope.get('/api/v1/istio/time-to-direct');
      return t.measurements.some((m: any) => m.sidecar === `${NS}/meshscope-productpage-v1` && m.state === 'done');
    }, 'a finished time-to-direct measurement for productpage');
    const t = await env.meshscope.get('/api/v1/istio/time-to-direct');
    const m = t.measurements.find((x: any) => x.sidecar === `${NS}/meshscope-productpage-v1` && x.state === 'done');
    assert.deepEqual(m.proxies, ['productpage-v1-fp2z2hr8dt-5zsht.default']);
    assert.ok(m.hosts.includes(`${NS}/${fqdn('details')}`), JSON.stringify(m));
    assert.ok(m.firstCallAt <= m.writtenAt && m.writtenAt <= m.ackedAt, JSON.stringify(m));
    assert.equal(m.totalMs, m.ackedAt - m.firstCallAt);
    assert.ok(typeof t.p50 === 'number' && t.p50 > 0);
    const metrics: string = await env.meshscope.get('/metrics');
    assert.match(metrics, /^meshscope_istio_time_to_direct_seconds_count [1-9]/m);
    assert.match(metrics, /^meshscope_istio_time_to_direct_seconds\{quantile="0.5"\} /m);
  });

  it('an AuthorizationPolicy denial holds on the first call through the gateway, as on the direct one', async () => {
    await env.api.apply(JSON.stringify({
      apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy',
      metadata: { name: 'ratings-not-from-productpage', namespace: NS },
      spec: { selector: { matchLabels: { app: 'ratings' } }, action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-productpage'] } }] }] },
    }));
    const pp = pods.get('productpage-v1')!;
    assert.ok(!(await serviceClusters(pp)).includes(`outbound|9080||${fqdn('ratings')}`), 'ratings must be out of productpage’s scope for this test');
    // The gateway must see the policy before the call: wait until it refuses.
    let first: any;
    await waitFor(async () => {
      first = await callFrom(pp, url('ratings'));
      return first.status === 403;
    }, 'the first call from productpage to ratings refused', 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}: last answer ${JSON.stringify(first)}`);
    });
    // reviews-v2 is allowed by the same policy (it denies only productpage): through or around the gateway, 200.
    assert.equal((await callFrom(pods.get('reviews-v2')!, url('ratings'))).status, 200);
  });

  it('meshscope killed and restarted: nothing lost, no Sidecar flaps', async () => {
    const names = Object.keys(CALLS).map((d) => `meshscope-${d}`);
    await waitFor(async () => (await Promise.all(names.map(sidecar))).every((s) => s !== undefined), 'every Sidecar present');
    const before = new Map<string, string>();
    for (const n of names) before.set(n, (await sidecar(n)).metadata.resourceVersion);
    const scopeBefore = (await env.meshscope.get(`/api/v1/services/${NS}/productpage`)).scope;
    await env.meshscope.kill();
    await env.meshscope.start();
    // Let the restarted writer reconcile every group, then look again.
    await waitFor(async () => {
      const st = await env.meshscope.get('/api/v1/istio/sidecars');
      return st.groups.length >= names.length && st.groups.every((g: any) => g.state === 'current' || g.state === 'written' || g.state === 'skipped');
    }, 'the restarted writer settled');
    const after = await env.meshscope.get(`/api/v1/services/${NS}/productpage`);
    assert.deepEqual(after.scope, scopeBefore, 'scope restored from SQLite');
    for (const n of names) assert.equal((await sidecar(n)).metadata.resourceVersion, before.get(n), `${n} was rewritten on restart`);
    for (const c of await productpage()) assert.equal(c.status, 200, JSON.stringify(c));
  });

  it('a Sidecar a user owns is left alone, and the group is reported skipped', async () => {
    const mine = {
      apiVersion: 'networking.istio.io/v1', kind: 'Sidecar',
      metadata: { name: 'details-by-hand', namespace: NS },
      spec: { workloadSelector: { labels: { app: 'details' } }, egress: [{ hosts: ['./*', 'istio-system/*'] }] },
    };
    await env.api.kubectl(['apply', '--field-manager', 'someone', '-f', '-'], { input: JSON.stringify(mine) });
    const rv = JSON.parse((await env.api.kubectl(['-n', NS, 'get', 'sidecar', 'details-by-hand', '-o', 'json'])).stdout).metadata.resourceVersion;
    await waitFor(async () => {
      const st = await env.meshscope.get(`/api/v1/istio/sidecars?namespace=${NS}`);
      return st.groups.some((g: any) => g.workloads.includes('details-v1-k2kvvh6frm-pwpmn.default') && g.state === 'skipped' && /details-by-hand/.test(g.reason));
    }, 'details group reported skipped because of the user Sidecar');
    await waitFor(async () => (await sidecar('meshscope-details-v1')) === undefined, 'meshscope’s own details Sidecar removed');
    const now = JSON.parse((await env.api.kubectl(['-n', NS, 'get', 'sidecar', 'details-by-hand', '-o', 'json'])).stdout);
    assert.equal(now.metadata.resourceVersion, rv);
    assert.deepEqual(now.spec, mine.spec);
    const metrics: string = await env.meshscope.get('/metrics');
    assert.match(metrics, /^meshscope_istio_workloads_skipped [1-9]/m);
  });
});
