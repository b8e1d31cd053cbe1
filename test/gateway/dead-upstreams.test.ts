// Dead upstreams: a connect timeout toward endpoints that black-hole SYNs
// (retried like a refused connection), passive outlier ejection with
// exponential back-off and readmission, and per-endpoint connection caps.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { OutlierDetector } from '../../lazy-gateway/outlier.ts';
import { waitUntil } from '../harness/wait.ts';
import { blackHole, deadPort, gatewayFor, h1Backend, h1Request, inventoryOf, metricsText, type Backend } from './helpers.ts';

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}

describe('dead upstreams', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test('an endpoint that black-holes SYNs fails within the connect timeout and the request goes to the next one', { timeout: 30_000 }, async () => {
    const hole = await blackHole('127.0.0.181');
    cleanup.push(hole.close);
    const alive = await h1Backend('127.0.0.182', undefined, undefined, hole.port).catch(() => undefined);
    // The black hole's port is free on the other address almost always; the test needs the same targetPort on both.
    assert.ok(alive, `port ${hole.port} is taken on 127.0.0.182`);
    cleanup.push(alive.close);
    const lone = await blackHole('127.0.0.188');
    cleanup.push(lone.close);
    const h2hole = await blackHole('127.0.0.183');
    cleanup.push(h2hole.close);
    const { gateway } = await gatewayFor(
      inventoryOf([
        { name: 'half', ports: [{ port: 80, targetPort: hole.port }], workloads: [{ name: 'h-hole', address: '127.0.0.181' }, { name: 'h-alive', address: alive.address }] },
        { name: 'gone', ports: [{ port: 80, targetPort: lone.port }], workloads: [{ name: 'g-hole', address: '127.0.0.188' }] },
        { name: 'gone-h2', ports: [{ port: 80, targetPort: h2hole.port, protocol: 'http2' }], workloads: [{ name: 'g2-hole', address: '127.0.0.183' }] },
      ]),
      { connectTimeoutMs: 300, outlier: { consecutiveFailures: 0 } },
    );
    cleanup.push(gateway.close);

    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      const r = await h1Request(gateway.port, { host: 'half', path: `/rr/${i}` });
      assert.equal(r.status, 200, r.body);
      assert.ok(Date.now() - t0 < 10_000, 'not the kernel connect timeout');
    }
    assert.ok(gateway.metrics.retries >= 1, 'the request that met the black hole was retried on the live endpoint');

    // A POST (a body, so no retry) to a service whose only endpoint black-holes: 503 naming the timeout, not a hang.
    const t0 = Date.now();
    const post = await h1Request(gateway.port, { host: 'gone', method: 'POST', path: '/post', body: 'data' });
    assert.equal(post.status, 503, post.body);
    assert.equal(post.headers['x-meshscope-error'], 'upstream-connect-failed');
    assert.match(post.body, /no connection to 127\.0\.0\.188:\d+ within 300 ms/);
    assert.ok(Date.now() - t0 >= 290, 'after the connect timeout');

    // HTTP/2 upstreams get the same timeout.
    const h2 = await h1Request(gateway.port, { host: 'gone-h2', method: 'POST', path: '/h2', body: 'data' });
    assert.equal(h2.status, 503, h2.body);
    assert.equal(h2.headers['x-meshscope-error'], 'upstream-connect-failed');

    const text = await metricsText(gateway);
    assert.ok(metric(text, 'meshscope_gateway_upstream_connect_timeouts_total') >= 3, text);
  });

  test('an endpoint that keeps failing is ejected, readmitted when its ejection runs out, and serves again', { timeout: 30_000 }, async () => {
    const alive = await h1Backend('127.0.0.185');
    cleanup.push(alive.close);
    await deadPort('127.0.0.184', alive.port);
    const { gateway } = await gatewayFor(
      inventoryOf([
        { name: 'pair', ports: [{ port: 80, targetPort: alive.port }], workloads: [{ name: 'p-dead', address: '127.0.0.184' }, { name: 'p-alive', address: alive.address }] },
      ]),
      { outlier: { consecutiveFailures: 3, baseEjectionMs: 1_000 } },
    );
    cleanup.push(gateway.close);
    const get = async (path: string) => {
      const r = await h1Request(gateway.port, { host: 'pair', path });
      assert.equal(r.status, 200, r.body);
    };
    // Every request meets the dead endpoint first (a retry moves round robin on by two) until it is ejected.
    for (let i = 0; i < 3; i++) await get(`/before/${i}`);
    assert.equal(gateway.metrics.retries, 3);
    let text = await metricsText(gateway);
    assert.equal(metric(text, 'meshscope_gateway_outlier_ejections_total'), 1);
    assert.equal(metric(text, 'meshscope_gateway_outlier_ejected_endpoints'), 1);
    for (let i = 0; i < 5; i++) await get(`/ejected/${i}`);
    assert.equal(gateway.metrics.retries, 3, 'while ejected, no request tries the dead endpoint');

    // The endpoint comes back; once its ejection runs out it gets its share again.
    const back = await h1Backend('127.0.0.184', undefined, undefined, alive.port);
    cleanup.push(back.close);
    let n = 0;
    await waitUntil(
      async () => {
        await get(`/after/${n++}`);
        return back.requests.length > 0;
      },
      'the readmitted endpoint to serve a request',
      10_000,
    );
    text = await metricsText(gateway);
    assert.equal(metric(text, 'meshscope_gateway_outlier_readmissions_total'), 1);
    assert.equal(metric(text, 'meshscope_gateway_outlier_ejected_endpoints'), 0);
    for (let i = 0; i < 4; i++) await get(`/healthy/${i}`);
    assert.equal(back.requests.filter((r) => r.url.startsWith('/healthy/')).length, 2, 'round robin shares requests again');
  });

  test('back-off doubles per ejection up to the maximum; never more than the share of a route; all ejected means all used', () => {
    const d = new OutlierDetector({ consecutiveFailures: 2, baseEjectionMs: 1_000, maxEjectionMs: 3_000, maxEjectionPercent: 50 });
    const endpoints = ['a', 'b', 'c', 'd'].map((k) => ({ health: d.of(k) }));
    const [a, b, c] = endpoints.map((e) => e.health);
    const lengths: number[] = [];
    for (let round = 0; round < 4; round++) {
      const t0 = Date.now();
      d.failed(a, endpoints);
      assert.equal(a.ejectedUntil, 0, 'one failure does not eject');
      d.failed(a, endpoints);
      const t1 = Date.now();
      assert.ok(a.ejectedUntil > 0, `round ${round}: ejected`);
      lengths.push(a.ejectedUntil - t0 - (t1 - t0));
      assert.equal(a.ejected(a.ejectedUntil - 1), true, 'still out just before the end');
      assert.equal(a.ejected(a.ejectedUntil), false, 'readmitted at the end');
    }
    for (const [i, want] of [1_000, 2_000, 3_000, 3_000].entries()) assert.ok(Math.abs(lengths[i] - want) <= 5, `ejection ${i} lasted ${lengths[i]} ms, not ${want}`);
    assert.equal(d.stats.readmissions, 4);

    // A healthy run as long as the threshold forgets the back-off.
    d.succeeded(a);
    d.succeeded(a);
    d.failed(a, endpoints);
    const t0 = Date.now();
    d.failed(a, endpoints);
    assert.ok(Math.abs(a.ejectedUntil - t0 - 1_000) <= 5, 'back to the base ejection');

    // Two of four may be out (50%): a third that fails stays in.
    d.failed(b, endpoints);
    d.failed(b, endpoints);
    assert.ok(b.ejectedUntil > 0);
    d.failed(c, endpoints);
    d.failed(c, endpoints);
    assert.equal(c.ejectedUntil, 0, 'over the 50% share');
    assert.equal(d.stats.skipped, 1);
    // A success resets the run of failures.
    const fresh = new OutlierDetector({ consecutiveFailures: 2, baseEjectionMs: 1_000, maxEjectionMs: 3_000, maxEjectionPercent: 50 });
    const e = fresh.of('e');
    fresh.failed(e, [{ health: e }]);
    fresh.succeeded(e);
    fresh.failed(e, [{ health: e }]);
    assert.equal(e.ejectedUntil, 0, 'failures must be consecutive');
  });

  test('connections per endpoint are capped: requests queue, and beyond the queue get 503', { timeout: 30_000 }, async () => {
    const held: http.ServerResponse[] = [];
    const backend: Backend = await h1Backend('127.0.0.186', undefined, (req, res) => {
      req.resume();
      held.push(res);
    });
    cleanup.push(backend.close);
    const { gateway } = await gatewayFor(
      inventoryOf([{ name: 'busy', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'b-1', address: backend.address }] }]),
      { maxConnectionsPerEndpoint: 2, maxPendingPerEndpoint: 1 },
    );
    cleanup.push(gateway.close);
    const replies = [0, 1, 2].map((i) => h1Request(gateway.port, { host: 'busy', path: `/held/${i}` }));
    await waitUntil(() => held.length === 2, 'two requests to reach the backend');
    await waitUntil(async () => metric(await metricsText(gateway), 'meshscope_gateway_upstream_queued_requests') === 1, 'the third to wait for a connection');
    const over = await h1Request(gateway.port, { host: 'busy', path: '/over' });
    assert.equal(over.status, 503, over.body);
    assert.equal(over.headers['x-meshscope-error'], 'upstream-overflow');
    assert.match(over.body, /2 connections busy and 1 requests waiting/);
    assert.equal(backend.connections, 2, 'no third connection was opened');
    // Answer one: its connection takes the queued request.
    held[0].end('done');
    await waitUntil(() => held.length === 3, 'the queued request to reach the backend on the freed connection');
    for (const res of held.slice(1)) res.end('done');
    const statuses = (await Promise.all(replies)).map((r) => r.status);
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(backend.connections, 2, 'the queued request reused a connection');
    const text = await metricsText(gateway);
    assert.equal(metric(text, 'meshscope_gateway_upstream_overflow_total'), 1);
    assert.equal(metric(text, 'meshscope_gateway_upstream_queued_requests'), 0);
  });

  test('a caller that gives up while queued leaves the queue', { timeout: 30_000 }, async () => {
    const held: http.ServerResponse[] = [];
    const backend = await h1Backend('127.0.0.187', undefined, (req, res) => {
      req.resume();
      held.push(res);
      if (req.url !== '/first') res.end('ok');
    });
    cleanup.push(backend.close);
    const { gateway } = await gatewayFor(
      inventoryOf([{ name: 'one', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'o-1', address: backend.address }] }]),
      { maxConnectionsPerEndpoint: 1, maxPendingPerEndpoint: 4 },
    );
    cleanup.push(gateway.close);
    const first = h1Request(gateway.port, { host: 'one', path: '/first' });
    await waitUntil(() => held.length === 1, 'the first request to hold the only connection');
    const quitter = http.request({ host: '127.0.0.1', port: gateway.port, path: '/quitter', headers: { host: 'one' }, agent: false });
    quitter.on('error', () => undefined);
    quitter.end();
    await waitUntil(async () => metric(await metricsText(gateway), 'meshscope_gateway_upstream_queued_requests') === 1, 'the second to queue');
    quitter.destroy();
    await waitUntil(async () => metric(await metricsText(gateway), 'meshscope_gateway_upstream_queued_requests') === 0, 'the gone caller to leave the queue');
    held[0].end('done');
    assert.equal((await first).status, 200);
    assert.equal((await h1Request(gateway.port, { host: 'one', path: '/next' })).status, 200);
    assert.equal(held.length, 2, 'the gone caller was never forwarded');
  });
});
