// The Helm chart, rendered by real Helm and checked by a real kube-apiserver:
// what it deploys (the analyzer single and on a volume, the gateway ≥ 2 with a
// PDB and its own full-egress Sidecar, probes), every manifest accepted with
// --dry-run=server, the analyzer arguments accepted by the real command line,
// and the permissions: RBAC checked with `kubectl auth can-i --as` each
// account, writes limited to listed namespaces, and the admission policy that
// keeps the analyzer's account off Sidecars its install did not make.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseAnalyzerArgs } from '../../analyzer/cli.ts';
import { startApiServer, type ApiServer } from '../harness/k8s/apiserver.ts';
import { createNamespace } from '../harness/k8s/workloads.ts';
import { waitUntil } from '../harness/wait.ts';
import { CHART, helm, render } from './chart.ts';

const NS = 'meshscope';
const ANALYZER = `system:serviceaccount:${NS}:meshscope-analyzer`;
const GATEWAY = `system:serviceaccount:${NS}:meshscope-gateway`;

describe('Helm chart deploy/helm/meshscope', () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer();
    for (const ns of [NS, 'istio-system', 'shop', 'other', 'limited']) await createNamespace(api, ns);
  });
  after(async () => {
    await api?.stop();
  });

  const sidecar = (name: string, labels: Record<string, string>) =>
    JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace: 'shop', labels }, spec: { workloadSelector: { labels: { app: name } }, egress: [{ hosts: ['istio-system/*'] }] } });
  const canI = async (as: string, verb: string, resource: string, ns?: string) =>
    (await api.kubectl(['auth', 'can-i', verb, resource, '--as', as, ...(ns ? ['-n', ns] : ['--all-namespaces'])], { allowFail: true })).code === 0;

  it('lints clean and refuses a single gateway replica', async () => {
    await helm(['lint', CHART]);
    const one = await helm(['template', 'meshscope', CHART, '--set', 'gateway.replicas=1'], { allowFail: true });
    assert.notEqual(one.code, 0);
    assert.match(one.stderr, /gateway.replicas must be at least 2/);
  });

  it('deploys the analyzer single on a volume and the gateway ≥ 2 with a PDB and its own Sidecar', async () => {
    const r = await render('meshscope', NS);
    const analyzer = r.one('Deployment', 'meshscope-analyzer');
    assert.equal(analyzer.spec.replicas, 1);
    assert.deepEqual(analyzer.spec.strategy, { type: 'Recreate' });
    const pod = analyzer.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'meshscope-analyzer');
    assert.equal(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName, r.one('PersistentVolumeClaim').metadata.name);
    const c = pod.containers[0];
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.ok(c.resources.requests.cpu && c.resources.limits.memory);

    // The arguments the chart passes are accepted by the real command line, in a pod (in-cluster credentials).
    const [command, ...args] = c.args;
    assert.equal(command, 'analyzer');
    const opts = parseAnalyzerArgs(args, { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    assert.equal(opts.mesh, undefined);
    assert.deepEqual(opts.istio, { dryRun: false, instance: 'meshscope', pruneGraceMs: 60_000, gateway: { name: 'meshscope-gateway', namespace: NS, port: 15080 }, alwaysVisible: ['istio-system/*', `${NS}/*`] });
    assert.equal(opts.data, '/var/lib/meshscope');

    const gateway = r.one('Deployment', 'meshscope-gateway');
    assert.equal(gateway.spec.replicas, 2);
    const gwService = r.one('Service', 'meshscope-gateway');
    assert.equal(gwService.spec.ports[0].port, opts.istio!.gateway!.port);
    assert.deepEqual(r.one('PodDisruptionBudget').spec.selector.matchLabels, gateway.spec.selector.matchLabels);
    assert.equal(r.one('PodDisruptionBudget').spec.minAvailable, 1);
    const sidecar = r.one('Sidecar');
    assert.deepEqual(sidecar.spec.workloadSelector.labels, gateway.spec.template.metadata.labels);
    assert.deepEqual(sidecar.spec.egress, [{ hosts: ['*/*'] }]);
    const gc = gateway.spec.template.spec.containers[0];
    assert.equal(gc.readinessProbe.httpGet.path, '/readyz');
    assert.match(gc.args.join(' '), new RegExp(`--analyzer=http://meshscope-analyzer.${NS}:15090`));
    assert.deepEqual(r.one('Telemetry').spec.accessLogging[0].providers, [{ name: 'meshscope-als' }, { name: 'meshscope-als-tcp' }]);
  });

  it('passes the release name as the analyzer\'s --instance (or analyzer.instance), and refuses one that is not a DNS label', async () => {
    const instanceOf = async (release: string, set: string[] = []) => {
      const args: string[] = (await render(release, NS, set)).docs.find((d) => d.kind === 'Deployment' && d.metadata.name.endsWith('-analyzer')).spec.template.spec.containers[0].args;
      return parseAnalyzerArgs(args.slice(1), { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).istio!.instance;
    };
    assert.equal(await instanceOf('team-a'), 'team-a');
    assert.equal(await instanceOf('team-a', ['analyzer.instance=meshscope']), 'meshscope');
    const dotted = await helm(['template', 'team.a', CHART, '-n', NS], { allowFail: true });
    assert.notEqual(dotted.code, 0);
    assert.match(dotted.stderr, /meshscope instance "team.a" \(analyzer.instance, default the release name\) is not a DNS label: set analyzer.instance/);
  });

  it('every manifest is accepted by the API server (--dry-run=server), with default and with other values', async () => {
    for (const set of [[], ['analyzer.dryRun=true', 'analyzer.alwaysVisible={istio-system/*,ops/*}', 'analyzer.namespaceSelectors={mesh=on}', 'rbac.sidecarWriteNamespaces={shop,other}', 'istio.telemetry.create=false']]) {
      const r = await render('meshscope', NS, set);
      const out = await api.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: r.text });
      const accepted = out.stdout.split('\n').filter((l) => l.includes('(server dry run)'));
      assert.equal(accepted.length, r.docs.length, `${set.join(' ')}\n${out.stdout}${out.stderr}`);
    }
  });

  it('RBAC: each account may do what it needs and nothing more', async () => {
    const r = await render('meshscope', NS);
    await api.kubectl(['apply', '-f', '-'], { input: r.text });
    const yes: Array<[string, string, string, string?]> = [
      [ANALYZER, 'list', 'pods'],
      [ANALYZER, 'watch', 'endpointslices.discovery.k8s.io'],
      [ANALYZER, 'list', 'namespaces'],
      [ANALYZER, 'watch', 'serviceentries.networking.istio.io'],
      [ANALYZER, 'list', 'authorizationpolicies.security.istio.io'],
      [ANALYZER, 'watch', 'sidecars.networking.istio.io'],
      [ANALYZER, 'patch', 'sidecars.networking.istio.io', 'shop'],
      [ANALYZER, 'create', 'sidecars.networking.istio.io', 'shop'],
      [ANALYZER, 'delete', 'sidecars.networking.istio.io', 'shop'],
      [ANALYZER, 'patch', 'envoyfilters.networking.istio.io', 'shop'],
      [GATEWAY, 'list', 'pods'],
      [GATEWAY, 'watch', 'authorizationpolicies.security.istio.io'],
    ];
    const no: Array<[string, string, string, string?]> = [
      [ANALYZER, 'get', 'secrets', 'shop'],
      [ANALYZER, 'list', 'secrets'],
      [ANALYZER, 'delete', 'secrets', 'shop'],
      [ANALYZER, 'delete', 'pods', 'shop'],
      [ANALYZER, 'get', 'pods', 'shop'],
      [ANALYZER, 'patch', 'services', 'shop'],
      [ANALYZER, 'list', 'configmaps'],
      [ANALYZER, 'patch', 'virtualservices.networking.istio.io', 'shop'],
      [ANALYZER, 'patch', 'authorizationpolicies.security.istio.io', 'shop'],
      [ANALYZER, 'update', 'sidecars.networking.istio.io', 'shop'],
      [GATEWAY, 'patch', 'sidecars.networking.istio.io', 'shop'],
      [GATEWAY, 'list', 'sidecars.networking.istio.io'],
      [GATEWAY, 'get', 'secrets', 'shop'],
      [GATEWAY, 'delete', 'pods', 'shop'],
    ];
    for (const [as, verb, res, ns] of yes) assert.equal(await canI(as, verb, res, ns), true, `${as} can ${verb} ${res}${ns ? ` in ${ns}` : ''}`);
    for (const [as, verb, res, ns] of no) assert.equal(await canI(as, verb, res, ns), false, `${as} cannot ${verb} ${res}${ns ? ` in ${ns}` : ''}`);
  });

  it('rbac.sidecarWriteNamespaces: Sidecar writes only in the listed namespaces', async () => {
    const r = await render('limited', 'limited', ['rbac.sidecarWriteNamespaces={shop}', 'rbac.ownedOnlyPolicy=false']);
    await api.kubectl(['apply', '-f', '-'], { input: r.text });
    const as = 'system:serviceaccount:limited:limited-meshscope-analyzer';
    assert.equal(await canI(as, 'patch', 'sidecars.networking.istio.io', 'shop'), true);
    assert.equal(await canI(as, 'patch', 'sidecars.networking.istio.io', 'other'), false);
    assert.equal(await canI(as, 'delete', 'sidecars.networking.istio.io', 'default'), false);
    assert.equal(await canI(as, 'list', 'sidecars.networking.istio.io'), true, 'still sees every Sidecar, to leave the foreign ones alone');
  });

  it('the admission policy keeps the analyzer off Sidecars its install did not make', async () => {
    // A user's Sidecar, made by the admin.
    await api.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'users', namespace: 'shop' }, spec: { egress: [{ hosts: ['./*'] }] } }),
    });
    const asAnalyzer = (args: string[], input?: string) => api.kubectl([...args, '--as', ANALYZER, '-n', 'shop'], { input, allowFail: true });
    const ssa = ['apply', '--server-side', '--field-manager=meshscope', '-f', '-'];
    // The policy is live once the API server has loaded it: poll for the first refusal.
    let refused = { code: 0 as number | null, stdout: '', stderr: '' };
    await waitUntil(async () => (refused = await asAnalyzer([...ssa, '--dry-run=server'], sidecar('unlabelled', {}))).code !== 0, 'the owned-only policy to refuse an unlabelled Sidecar', 30_000, { intervalMs: 200 });
    assert.match(refused.stderr, /meshscope instance meshscope may only write Sidecars and EnvoyFilters labelled app.kubernetes.io\/managed-by=meshscope and app.kubernetes.io\/instance=meshscope; shop\/unlabelled is not one/);

    const ours = { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'meshscope' };
    const own = await asAnalyzer(ssa, sidecar('meshscope-web', ours));
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await asAnalyzer(['delete', 'sidecar', 'meshscope-web'])).code, 0);

    // Another install's (instance team-b): not to be written, relabelled or deleted by this one.
    const theirs = { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'team-b' };
    assert.notEqual((await asAnalyzer([...ssa, '--dry-run=server'], sidecar('meshscope-api', theirs))).code, 0, 'creating one labelled as another install\'s is refused');
    await api.kubectl(['apply', '--server-side', '--field-manager=meshscope-team-b', '-f', '-'], { input: sidecar('meshscope-api', theirs) });
    const relabel = await asAnalyzer(ssa, sidecar('meshscope-api', ours));
    assert.notEqual(relabel.code, 0, 'taking over another install\'s Sidecar is refused');
    const delTheirs = await asAnalyzer(['delete', 'sidecar', 'meshscope-api']);
    assert.notEqual(delTheirs.code, 0);
    assert.match(delTheirs.stderr, /shop\/meshscope-api is not one/);

    // Written by a version before instances (no instance label): the default instance's, to relabel and delete.
    await api.kubectl(['apply', '--server-side', '--field-manager=meshscope', '-f', '-'], { input: sidecar('meshscope-old', { 'app.kubernetes.io/managed-by': 'meshscope' }) });
    const relabelOld = await asAnalyzer(ssa, sidecar('meshscope-old', ours));
    assert.equal(relabelOld.code, 0, relabelOld.stderr);
    assert.equal((await asAnalyzer(['delete', 'sidecar', 'meshscope-old'])).code, 0);

    const takeOver = await asAnalyzer(ssa, JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'users', namespace: 'shop', labels: ours }, spec: { egress: [{ hosts: ['./*'] }] } }));
    assert.notEqual(takeOver.code, 0, 'relabelling a user Sidecar as meshscope\'s is refused (the old object is not meshscope\'s)');
    const del = await asAnalyzer(['delete', 'sidecar', 'users']);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /shop\/users is not one/);
    assert.equal((await api.request('GET', '/apis/networking.istio.io/v1/namespaces/shop/sidecars/users')).status, 200);
  });

  it('another release is another instance: its analyzer may write only its own, not the unlabelled Sidecars of before instances', async () => {
    await createNamespace(api, 'team-b');
    await api.kubectl(['apply', '-f', '-'], { input: (await render('team-b', 'team-b')).text });
    const asB = (args: string[], input?: string) => api.kubectl([...args, '--as', 'system:serviceaccount:team-b:team-b-meshscope-analyzer', '-n', 'shop'], { input, allowFail: true });
    const ssaB = ['apply', '--server-side', '--field-manager=meshscope-team-b', '-f', '-'];
    const theirs = { 'app.kubernetes.io/managed-by': 'meshscope', 'app.kubernetes.io/instance': 'team-b' };
    await api.kubectl(['apply', '--server-side', '--field-manager=meshscope', '-f', '-'], { input: sidecar('meshscope-older', { 'app.kubernetes.io/managed-by': 'meshscope' }) });
    let refused = { code: 0 as number | null, stdout: '', stderr: '' };
    await waitUntil(async () => (refused = await asB([...ssaB, '--dry-run=server'], sidecar('meshscope-older', theirs))).code !== 0, "team-b's policy to refuse relabelling the default instance's Sidecar", 30_000, { intervalMs: 200 });
    assert.match(refused.stderr, /meshscope instance team-b may only write Sidecars and EnvoyFilters labelled app.kubernetes.io\/managed-by=meshscope and app.kubernetes.io\/instance=team-b; shop\/meshscope-older is not one/);
    assert.notEqual((await asB(['delete', 'sidecar', 'meshscope-older'])).code, 0);
    const own = await asB(ssaB, sidecar('meshscope-team-b-web', theirs));
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await asB(['delete', 'sidecar', 'meshscope-team-b-web'])).code, 0);
  });
});
