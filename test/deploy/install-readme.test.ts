// README.md "Install next to Istio", run as written against a real
// kube-apiserver with real Helm and kubectl: every sh block of the section in
// order (the ones that need a Docker engine, istiod's chart or a running pod
// are marked in the README and listed here), with checks between the steps
// that what each step says happened did. The mesh-config snippet is checked
// against what the chart deploys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { run } from '../harness/install.ts';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { createNamespace } from '../harness/k8s/workloads.ts';
import { helmBinary, render, ROOT, toolEnv } from './chart.ts';
import { installSection } from './readme.ts';

describe('README "Install next to Istio", as written', () => {
  let api: ApiServer;
  before(async () => {
    await helmBinary();
    api = await startApiServer();
    // What the section starts from: Istio installed (its namespace and CRDs), applications in a namespace.
    await createNamespace(api, 'istio-system');
    await createNamespace(api, 'shop');
  });
  after(async () => {
    await api?.stop();
  });

  it('marks as not run only what needs Docker, istiod\'s chart or a running pod', () => {
    const skipped = installSection().filter((b) => b.notRun);
    assert.deepEqual(
      skipped.map((b) => [b.code.split('\n')[0], b.notRun]),
      [
        ['docker build -t registry.example.com/meshscope:0.1.0 .', 'needs a Docker engine and a registry'],
        ['helm upgrade istiod istio/istiod -n istio-system --reuse-values -f meshscope-mesh-config.yaml', "needs istiod's own chart"],
        ['kubectl -n meshscope port-forward svc/meshscope-analyzer 15090 &', 'needs the analyzer pod running'],
      ],
    );
  });

  it('the mesh-config snippet names the analyzer Service, its ALS port and the providers the chart\'s Telemetry uses', async () => {
    const snippet = parse(installSection().find((b) => b.lang === 'yaml')!.code);
    const r = await render('meshscope', 'meshscope');
    const svc = r.one('Service', 'meshscope-analyzer');
    const als = svc.spec.ports.find((p: any) => p.name === 'grpc-als').port;
    const providers = snippet.meshConfig.extensionProviders;
    assert.deepEqual(
      providers.map((p: any) => p.name),
      r.one('Telemetry').spec.accessLogging[0].providers.map((p: any) => p.name),
    );
    for (const p of providers) {
      const target = p.envoyHttpAls ?? p.envoyTcpAls;
      assert.equal(target.service, `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`);
      assert.equal(target.port, als);
    }
    assert.ok(providers[0].envoyHttpAls && providers[1].envoyTcpAls, 'HTTP and TCP access logs');
  });

  it('runs every other step and each does what the README says', async () => {
    const env = toolEnv(api.kubeconfig);
    const sh = async (code: string) => {
      const res = await run('bash', ['-euo', 'pipefail', '-c', code], { cwd: ROOT, env, allowFail: true, timeoutMs: 180_000 });
      assert.equal(res.code, 0, `README step failed:\n${code}\n--- output ---\n${res.stdout}${res.stderr}`);
      return res.stdout;
    };
    const analyzerArgs = async () => {
      const res = await api.request('GET', '/apis/apps/v1/namespaces/meshscope/deployments/meshscope-analyzer');
      assert.equal(res.status, 200);
      return res.body.spec.template.spec.containers[0].args as string[];
    };
    const steps = installSection().filter((b) => b.lang === 'sh' && !b.notRun);
    const [ns, preview, install, upgrade, list, uninstall] = [
      steps.find((s) => s.code.includes('kubectl create namespace meshscope'))!,
      steps.find((s) => s.code.includes('kubectl apply --dry-run=server'))!,
      steps.find((s) => s.code.startsWith('helm install'))!,
      steps.find((s) => s.code.startsWith('helm upgrade meshscope'))!,
      steps.find((s) => s.code.startsWith('kubectl get sidecars'))!,
      steps.find((s) => s.code.startsWith('helm uninstall'))!,
    ];
    // Every runnable step is one of these, in this order: a new step needs its check here.
    assert.deepEqual(steps, [ns, preview, install, upgrade, list, uninstall]);

    await sh(ns.code);
    const nsObj = (await api.request('GET', '/api/v1/namespaces/meshscope')).body;
    assert.equal(nsObj.metadata.labels['istio-injection'], 'enabled');

    const previewOut = await sh(preview.code);
    assert.match(previewOut, /deployment.apps\/meshscope-analyzer created \(server dry run\)/);
    assert.equal((await api.request('GET', '/apis/apps/v1/namespaces/meshscope/deployments/meshscope-analyzer')).status, 404, 'the preview writes nothing');

    await sh(install.code);
    assert.ok((await analyzerArgs()).includes('--dry-run'), 'installed in dry run');
    assert.match((await analyzerArgs()).join(' '), /--gateway-service=meshscope-gateway.meshscope:15080/);

    await sh(upgrade.code);
    assert.ok(!(await analyzerArgs()).includes('--dry-run'), 'the upgrade lets it write');

    // What meshscope would have written by now, a Sidecar of another meshscope install's, and one of the user's.
    const meshscope = (instance: string) => ({ 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': instance });
    for (const [name, labels] of [['meshscope-web', meshscope('meshscope')], ['meshscope-api', meshscope('team-b')], ['users', {}]] as const) {
      const res = await api.request('POST', '/apis/networking.istio.io/v1/namespaces/shop/sidecars', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Sidecar',
        metadata: { name, labels },
        spec: { workloadSelector: { labels: { app: name } }, egress: [{ hosts: ['istio-system/*'] }] },
      });
      assert.equal(res.status, 201);
    }
    const listed = await sh(list.code);
    assert.match(listed, /shop\s+meshscope-web/);
    assert.doesNotMatch(listed, /users|meshscope-api/);

    await sh(uninstall.code);
    assert.equal((await api.request('GET', '/apis/apps/v1/namespaces/meshscope/deployments/meshscope-analyzer')).status, 404);
    assert.equal((await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-web')).status, 404, "meshscope's Sidecars go with it");
    assert.equal((await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/users')).status, 200, "the user's stays");
    assert.equal((await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/meshscope-api')).status, 200, "the other install's stays");
  });
});
