// The product loop, end to end and all real: `meshscope analyzer` (SQLite,
// in-process lazy gateway, ALS, xDS) as its own process, a real Envoy sidecar
// for productpage started from `meshscope bootstrap`, and HTTP and gRPC
// backends on loopback addresses named in mesh.yaml.
//
//   1. Envoy starts with an empty scope: only the catch-all to the gateway.
//   2. The first call to details goes through the gateway, which reports it.
//   3. The analyzer records productpage → details and pushes the new scope.
//   4. The next call goes direct to details, not through the gateway.
//   5. That direct call still reaches the analyzer, through Envoy's ALS.
//
// The processes are shared (started once per suite); each test calls a
// service no other test calls and measures gateway counts as deltas, so any
// test passes or fails on its own, in any order (run one with --test-name-pattern).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import YAML from 'yaml';
import { startEnvoy, ensureEnvoy, type EnvoyProcess } from '../harness/envoy.ts';
import { waitUntil } from '../harness/wait.ts';
import { requestVia, startHttpBackend, type HttpBackend } from '../xds/support/backends.ts';
import { EchoClient, hello, startGreeter, type Greeter } from '../xds/support/grpc-echo.ts';
import { listenerPort, sidecarConfig } from '../xds/support/sidecar.ts';
import { bootstrap, metric, spawnAnalyzer, type AnalyzerProcess } from './support/meshscope.ts';

const PAGE = 'productpage-v1.default';
const DETAILS = 'outbound|9080||details.default.svc.cluster.local';
const RATINGS = 'outbound|9090||ratings.default.svc.cluster.local';
const GATEWAY = 'meshscope-gateway';

/** Loopback addresses of their own, so no other test's servers share them; productpage's app calls from 127.0.0.1, which names no workload. */
const ADDR = { productpage: '127.0.0.51', details: '127.0.0.52', reviews: '127.0.0.53', ratings: '127.0.0.54', orders: '127.0.0.55' };

function loopSuite(delta: boolean) {
  describe(`the lazy loop with a real Envoy over ${delta ? 'delta' : 'state-of-the-world'} ADS`, () => {
    const dir = mkdtempSync(join(tmpdir(), `meshscope-e2e-${delta ? 'delta' : 'sotw'}-`));
    let backends: Record<'productpage' | 'details' | 'reviews', HttpBackend>;
    let ratings: Greeter;
    let analyzer: AnalyzerProcess;
    let envoy: EnvoyProcess;
    let egress: number;
    const figures: string[] = [];

    const envoyStat = async (cluster: string) => (await envoy.stats(`^cluster\\..*\\.upstream_rq_total$`))[`cluster.${cluster}.upstream_rq_total`] ?? 0;
    const gatewayMetrics = () => fetch(`http://127.0.0.1:${analyzer.ports['gateway-admin']}/metrics`).then((r) => r.text());
    const gatewayCalls = async (destination: string) => metric(await gatewayMetrics(), 'meshscope_gateway_requests_total', { destination }) || 0;
    const edgeTo = async (dest: string) => {
      const svc = await analyzer.api(`/api/v1/services/default/productpage`);
      return (svc.out as any[]).find((e) => e.target === dest);
    };
    const hasCluster = async (name: string) => (await sidecarConfig(envoy)).clusters.some((c) => c.name === name);

    before(async () => {
      await ensureEnvoy();
      backends = {
        productpage: await startHttpBackend('productpage', ADDR.productpage),
        details: await startHttpBackend('details', ADDR.details),
        reviews: await startHttpBackend('reviews', ADDR.reviews),
      };
      ratings = await startGreeter('ratings-v1', ADDR.ratings, 0);
      // Service ports are the usual 9080/9090; the workloads listen on whatever port the kernel gave them.
      const http = (name: keyof typeof backends) => ({
        name,
        ports: [{ port: 9080, targetPort: backends[name].port, protocol: 'http' }],
        workloads: [{ name: `${name}-v1`, address: backends[name].address }],
      });
      const mesh = {
        apiVersion: 'meshscope/v1',
        kind: 'Mesh',
        services: [
          http('productpage'),
          http('details'),
          http('reviews'),
          { name: 'ratings', ports: [{ port: 9090, targetPort: ratings.port, protocol: 'grpc' }], workloads: [{ name: 'ratings-v1', address: ADDR.ratings }] },
          // Called by no test: never in scope.
          { name: 'orders', ports: [{ port: 9080, protocol: 'http' }], workloads: [{ name: 'orders-v1', address: ADDR.orders }] },
        ],
      };
      const meshFile = join(dir, 'mesh.yaml');
      writeFileSync(meshFile, YAML.stringify(mesh));
      analyzer = await spawnAnalyzer(
        ['--mesh', meshFile, '--data', join(dir, 'data'), '--listen', '127.0.0.1', '--http-port', '0', '--als-port', '0', '--xds-port', '0', '--gateway-port', '0', '--gateway-admin-port', '0'],
        dir,
      );
      const args = ['--workload', PAGE, '--mesh', meshFile, '--xds', `127.0.0.1:${analyzer.ports.xds}`, '--admin-port', '0', '--egress-port', '0', '--ingress-port', '0', '--workload-address', ADDR.productpage];
      envoy = await startEnvoy({ bootstrapYaml: await bootstrap(delta ? [...args, '--delta'] : args), name: `productpage-${delta ? 'delta' : 'sotw'}` });
      egress = await listenerPort(envoy, 'egress');
    });

    after(async () => {
      if (figures.length) process.stderr.write(`lazy loop (${delta ? 'delta' : 'SotW'}): ${figures.join('; ')}\n`);
      await envoy?.stop();
      await analyzer?.stop();
      await Promise.all(Object.values(backends ?? {}).map((b) => b.close()));
      ratings?.server.forceShutdown();
      if (!process.env.MESHSCOPE_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    });

    it('starts the sidecar with no scope: the catch-all to the gateway and the log service only', async () => {
      await envoy.waitFor(async () => (await sidecarConfig(envoy)).virtualHosts.length > 0, 'the outbound route');
      const cfg = await sidecarConfig(envoy);
      assert.deepEqual(cfg.virtualHosts, [GATEWAY]);
      assert.deepEqual(cfg.clusters.map((c) => c.name).sort(), [`inbound|${backends.productpage.port}||`, 'meshscope-als', GATEWAY].sort());
      assert.equal(cfg.clusters.filter((c) => c.name.startsWith('outbound|')).length, 0);
    });

    it('carries the first call to details through the gateway, learns the edge and pushes it; the next call goes direct and is still seen', async () => {
      const viaGateway = await envoyStat(GATEWAY);
      const skipped = metric(await analyzer.api('/metrics'), 'meshscope_als_entries_skipped_total') || 0;
      const t0 = performance.now();
      const first = await requestVia(egress, 'details', '/details/0');
      const firstMs = performance.now() - t0;
      assert.equal(first.status, 200);
      assert.equal(first.body.backend, 'details');
      assert.equal(await envoyStat(GATEWAY), viaGateway + 1, 'Envoy sent it to the gateway cluster');
      await waitUntil(async () => (await gatewayCalls('details.default')) === 1, 'the gateway to count the call');

      // The analyzer learns productpage → details from the gateway's record and pushes the cluster.
      await envoy.waitFor(() => hasCluster(DETAILS), `${DETAILS} in the sidecar`, 15_000);
      const pushedMs = performance.now() - t0;
      await envoy.waitFor(async () => (await sidecarConfig(envoy)).endpoints.some((e) => e.name === DETAILS && e.addresses.includes(`${ADDR.details}:${backends.details.port}`)), 'details endpoints');
      const cfg = await sidecarConfig(envoy);
      assert.ok(cfg.virtualHosts.includes('details.default.svc.cluster.local:9080'), `virtual hosts: ${cfg.virtualHosts}`);
      assert.ok(!(await hasCluster('outbound|9080||orders.default.svc.cluster.local')), 'orders is never called: not in scope');

      // Envoy's log entry of that call went to the gateway cluster: skipped, the gateway's record counts it once.
      await waitUntil(async () => metric(await analyzer.api('/metrics'), 'meshscope_als_entries_skipped_total') > skipped, 'the ALS entry of the gateway call', 10_000);
      const learned = await edgeTo('details.default');
      assert.equal(learned.count, 1, 'the call through the gateway counts once');

      const t1 = performance.now();
      const second = await requestVia(egress, 'details', '/details/1');
      const directMs = performance.now() - t1;
      assert.equal(second.status, 200);
      assert.equal(second.body.backend, 'details');
      assert.equal(await envoyStat(DETAILS), 1, 'Envoy routed it to the details cluster');
      assert.equal(await envoyStat(GATEWAY), viaGateway + 1, 'not to the gateway');
      assert.equal(await gatewayCalls('details.default'), 1, 'the gateway saw no second call');
      assert.equal(backends.details.received.length, 2);

      // The direct call reaches the analyzer through Envoy's access log stream.
      await waitUntil(async () => (await edgeTo('details.default')).count === 2, 'the direct call to be counted from ALS', 15_000);
      const seenMs = performance.now() - t1;
      const now = await edgeTo('details.default');
      assert.ok(Date.parse(now.lastSeen) > Date.parse(learned.lastSeen), `lastSeen moved: ${learned.lastSeen} → ${now.lastSeen}`);
      await waitUntil(async () => (await edgeTo('details.default')).count === 2, 'the count to stay at 2: each call counted once');
      figures.push(
        `first call via gateway ${firstMs.toFixed(1)} ms`,
        `first call → cluster in Envoy ${pushedMs.toFixed(0)} ms`,
        `direct call ${directMs.toFixed(1)} ms`,
        `direct call → counted via ALS ${seenMs.toFixed(0)} ms`,
      );
    });

    it('does the same for a gRPC service', async () => {
      const client = new EchoClient(`127.0.0.1:${egress}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'ratings:9090' });
      try {
        const viaGateway = await envoyStat(GATEWAY);
        assert.equal(await hello(client), 'ratings-v1');
        assert.equal(await envoyStat(GATEWAY), viaGateway + 1, 'the first gRPC call went to the gateway');
        await envoy.waitFor(() => hasCluster(RATINGS), `${RATINGS} in the sidecar`, 15_000);
        await envoy.waitFor(async () => (await sidecarConfig(envoy)).endpoints.some((e) => e.name === RATINGS && e.addresses.length === 1), 'ratings endpoints');
        assert.equal(await hello(client), 'ratings-v1');
        assert.equal(await envoyStat(RATINGS), 1, 'the second went direct');
        assert.equal(await envoyStat(GATEWAY), viaGateway + 1);
        await waitUntil(async () => (await edgeTo('ratings.default'))?.count === 2, 'both gRPC calls counted', 15_000);
        assert.deepEqual((await edgeTo('ratings.default')).protocols, ['grpc']);
      } finally {
        client.close();
      }
    });

    it('shows the edges and the scope in the API, and the sidecar having ACKed it', async () => {
      // Its own edge (reviews, called by no other test), so it holds whatever ran before it.
      assert.equal((await requestVia(egress, 'reviews', '/reviews/0')).status, 200);
      await waitUntil(async () => (await analyzer.api('/api/v1/services/default/productpage')).scope.includes('reviews.default'), 'reviews in the scope', 15_000);
      const svc = await analyzer.api('/api/v1/services/default/productpage');
      assert.deepEqual((svc.out as any[]).map((e) => e.target).sort(), svc.scope, 'the scope is the learned edges');
      assert.equal((svc.out as any[]).find((e) => e.target === 'reviews.default').count, 1);
      await waitUntil(async () => {
        const [p] = await analyzer.api('/api/v1/proxies');
        const types = Object.values(p.types) as Array<{ versionSent?: string; versionAcked?: string }>;
        return p.scope.includes('reviews.default') && types.every((t) => t.versionSent !== undefined && t.versionAcked === t.versionSent);
      }, 'the sidecar to ACK its scope');
      await envoy.waitFor(() => hasCluster('outbound|9080||reviews.default.svc.cluster.local'), 'reviews in the sidecar');
      const proxies = await analyzer.api('/api/v1/proxies');
      assert.equal(proxies.length, 1);
      assert.equal(proxies[0].workload, PAGE);
      assert.deepEqual(proxies[0].scope, svc.scope);
      // Envoy opens its log stream with the first entry it flushes (its call to reviews, within ~1 s).
      await waitUntil(async () => metric(await analyzer.api('/metrics'), 'meshscope_als_streams') === 1, 'the sidecar to stream its log', 15_000);
      const metrics = await analyzer.api('/metrics');
      const pushes = metric(metrics, 'meshscope_push_latency_seconds_count');
      if (pushes > 0) figures.push(`scope change → ACK ${((metric(metrics, 'meshscope_push_latency_seconds_sum') / pushes) * 1000).toFixed(0)} ms avg over ${pushes} pushes`);
    });
  });
}

loopSuite(false);
loopSuite(true);
