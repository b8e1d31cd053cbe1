// Real Envoy sidecars against the real xDS server, state-of-the-world and
// delta: scoped config accepted, scoped calls reach the backend, the rest go
// to the gateway with the caller's identity, a scope change reaches only its
// proxy, an endpoint change moves traffic.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WatchedInventory } from '../../contracts/index.ts';
import { createXdsServer, type XdsServer } from '../../xds-server/index.ts';
import { ensureEnvoy, type EnvoyProcess } from '../harness/envoy.ts';
import { waitUntil } from '../harness/wait.ts';
import * as grpc from '@grpc/grpc-js';
import { EchoClient, hello, startGreeter, type Greeter } from './support/grpc-echo.ts';
import { requestVia, startHttpBackend, type HttpBackend } from './support/backends.ts';
import { meshYaml, type TestService } from './support/mesh.ts';
import { listenerPort, rejectedUpdates, sidecarConfig, startSidecar } from './support/sidecar.ts';

const FQDN = (name: string) => `${name}.default.svc.cluster.local`;

function sidecarSuite(delta: boolean) {
  describe(`Envoy sidecar over ${delta ? 'delta' : 'state-of-the-world'} ADS`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshscope-xds-envoy-'));
    const meshFile = join(dir, 'mesh.yaml');
    let backends: Record<string, HttpBackend>;
    let gateway: HttpBackend;
    let greeter: Greeter;
    let admin: HttpBackend;
    let inventory: WatchedInventory;
    let server: XdsServer;
    let productpage: EnvoyProcess;
    let reviewsProxy: EnvoyProcess;
    let services: TestService[];
    const outbound = (name: string) => `outbound|${name === 'greeter' ? greeter.port : backends[name].port}||${FQDN(name)}`;

    before(async () => {
      await ensureEnvoy();
      backends = {
        productpage: await startHttpBackend('productpage', '127.0.0.10'),
        reviews: await startHttpBackend('reviews', '127.0.0.11'),
        ratings: await startHttpBackend('ratings', '127.0.0.12'),
      };
      gateway = await startHttpBackend('gateway', '127.0.0.1');
      greeter = await startGreeter('greeter-0', '127.0.0.14', 0);
      // A second port of productpage: its ingress must route by the port the caller named.
      admin = await startHttpBackend('productpage-admin', '127.0.0.10');
      services = Object.values(backends).map((b) => ({
        name: b.name,
        ports: [{ port: b.port, protocol: 'http' as const }],
        workloads: [{ name: `${b.name}-0`, address: b.address }],
      }));
      services[0].ports!.push({ port: admin.port, protocol: 'http' });
      services.push({ name: 'greeter', ports: [{ port: greeter.port, protocol: 'grpc' }], workloads: [{ name: 'greeter-0', address: greeter.address }] });
      writeFileSync(meshFile, meshYaml(services));
      inventory = new WatchedInventory(meshFile, () => {}).start();
      server = await createXdsServer({ inventory, gatewayAddress: `127.0.0.1:${gateway.port}` });
      server.scope.setServiceScope('productpage.default', ['reviews.default', 'greeter.default']);
      server.scope.setServiceScope('reviews.default', ['ratings.default']);
      [productpage, reviewsProxy] = await Promise.all([
        startSidecar({ workload: 'productpage-0.default', xdsPort: server.port, delta, mesh: meshFile, workloadAddress: '127.0.0.10' }),
        startSidecar({ workload: 'reviews-0.default', xdsPort: server.port, delta, mesh: meshFile }),
      ]);
    });

    after(async () => {
      await Promise.all([productpage?.stop(), reviewsProxy?.stop()]);
      await server?.close();
      inventory?.close();
      await Promise.all([...Object.values(backends ?? {}), gateway, admin].map((b) => b?.close()));
      greeter?.server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    });

    it('accepts exactly the scoped clusters and virtual hosts', async () => {
      await productpage.waitFor(async () => (await sidecarConfig(productpage)).virtualHosts.length === 3, 'productpage to hold its outbound route');
      const cfg = await sidecarConfig(productpage);
      assert.deepEqual(
        cfg.clusters.map((c) => c.name).sort(),
        [`inbound|${backends.productpage.port}||`, `inbound|${admin.port}||`, 'meshscope-gateway', outbound('greeter'), outbound('reviews')].sort(),
      );
      // Services in scope order (sorted by id), then the catch-all.
      assert.deepEqual(cfg.virtualHosts, [`${FQDN('greeter')}:${greeter.port}`, `${FQDN('reviews')}:${backends.reviews.port}`, 'meshscope-gateway']);
      assert.deepEqual(cfg.listeners.map((l) => l.name).sort(), ['egress', 'ingress']);
      const eds = async () =>
        (await sidecarConfig(productpage)).endpoints.filter((e) => e.name.startsWith('outbound|')).sort((a, b) => a.name.localeCompare(b.name));
      await productpage.waitFor(async () => (await eds()).length === 2, 'productpage EDS');
      const expected = [
        { name: outbound('greeter'), addresses: [`127.0.0.14:${greeter.port}`] },
        { name: outbound('reviews'), addresses: [`127.0.0.11:${backends.reviews.port}`] },
      ];
      assert.deepEqual(await eds(), expected.sort((a, b) => a.name.localeCompare(b.name)));
      assert.deepEqual(await rejectedUpdates(productpage), {});
      const stats = await productpage.stats('update_success');
      for (const key of ['cluster_manager.cds.update_success', 'listener_manager.lds.update_success', 'http.outbound.rds.outbound.update_success']) {
        assert.ok((stats[key] ?? 0) >= 1, `${key} = ${stats[key]}`);
      }
      const status = server.proxy('productpage-0.default');
      assert.ok(status, 'the server lists the proxy');
      assert.equal(status.profile, 'envoy');
      assert.deepEqual(status.scope, ['greeter.default', 'reviews.default']);
    });

    it('carries gRPC through the egress port to an h2 service', async () => {
      const egress = await listenerPort(productpage, 'egress');
      const client = new EchoClient(`127.0.0.1:${egress}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': `greeter:${greeter.port}` });
      try {
        assert.equal(await hello(client), 'greeter-0');
      } finally {
        client.close();
      }
    });

    it('sends a scoped call to the backend and an unscoped one to the gateway, naming the caller', async () => {
      const egress = await listenerPort(productpage, 'egress');
      for (const host of ['reviews', `reviews:${backends.reviews.port}`, `${FQDN('reviews')}:${backends.reviews.port}`]) {
        const res = await requestVia(egress, host, '/reviews/1');
        assert.equal(res.status, 200, `Host: ${host}`);
        assert.equal(res.body.backend, 'reviews', `Host: ${host}`);
      }
      const res = await requestVia(egress, 'ratings', '/ratings/1');
      assert.equal(res.body.backend, 'gateway');
      const seen = gateway.received.at(-1)!;
      assert.equal(seen.host, 'ratings');
      assert.equal(seen.headers['x-meshscope-source'], 'productpage-0.default');
    });

    it('routes the ingress listener to the workload port the caller named', async () => {
      const ingress = await listenerPort(productpage, 'ingress');
      assert.equal((await requestVia(ingress, `productpage:${backends.productpage.port}`, '/index')).body.backend, 'productpage');
      assert.equal((await requestVia(ingress, `productpage.default:${admin.port}`, '/stats')).body.backend, 'productpage-admin');
      assert.deepEqual(await rejectedUpdates(productpage), {});
    });

    it('pushes a scope change to that proxy and no other', async () => {
      const quietBefore = server.proxy('reviews-0.default')!;
      const reviewsConfig = await sidecarConfig(reviewsProxy);
      server.scope.setServiceScope('productpage.default', ['reviews.default', 'greeter.default', 'ratings.default']);
      await productpage.waitFor(async () => (await sidecarConfig(productpage)).virtualHosts.length === 4, 'productpage to get ratings');
      const egress = await listenerPort(productpage, 'egress');
      await productpage.waitFor(async () => (await requestVia(egress, 'ratings')).body.backend === 'ratings', 'ratings to be reached directly');
      // The push to productpage has been sent and applied: a push to reviews would have gone out with it.
      const quietAfter = server.proxy('reviews-0.default')!;
      assert.equal(quietAfter.bytesPushed, quietBefore.bytesPushed);
      assert.deepEqual(quietAfter.types, quietBefore.types);
      assert.deepEqual(await sidecarConfig(reviewsProxy), reviewsConfig);
      assert.deepEqual(await rejectedUpdates(productpage), {});
    });

    it('follows an endpoint added to mesh.yaml', async () => {
      const second = await startHttpBackend('reviews-2', '127.0.0.13', backends.reviews.port);
      try {
        const reviews = services.find((s) => s.name === 'reviews')!;
        reviews.workloads!.push({ name: 'reviews-1', address: second.address });
        writeFileSync(meshFile, meshYaml(services));
        await productpage.waitFor(
          async () => (await sidecarConfig(productpage)).endpoints.find((e) => e.name === outbound('reviews'))?.addresses.length === 2,
          'productpage to learn the second reviews endpoint',
        );
        const egress = await listenerPort(productpage, 'egress');
        const seen = new Set<string>();
        await waitUntil(async () => {
          seen.add((await requestVia(egress, 'reviews')).body.backend);
          return seen.has('reviews-2') && seen.has('reviews');
        }, 'calls to reach both reviews endpoints');
        assert.deepEqual(await rejectedUpdates(productpage), {});
      } finally {
        await second.close();
      }
    });
  });
}

sidecarSuite(false);
sidecarSuite(true);
