// Load balancing, retries, timeouts, cancellation, and a sink that goes away.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { waitUntil } from '../harness/wait.ts';
import { deadPort, gatewayFor, h1Backend, h1Replicas, h1Request, inventoryOf, metricsText, type Backend } from './helpers.ts';

/** A backend that holds every request until the test lets it go. */
async function holdingBackend(address: string): Promise<{ backend: Backend; held: http.ServerResponse[]; heads: http.IncomingHttpHeaders[]; closed: number }> {
  const state = { backend: undefined as unknown as Backend, held: [] as http.ServerResponse[], heads: [] as http.IncomingHttpHeaders[], closed: 0 };
  state.backend = await h1Backend(address, undefined, (req, res) => {
    req.resume();
    state.held.push(res);
    state.heads.push(req.headers);
    res.once('close', () => state.closed++);
  });
  return state;
}

describe('gateway resilience', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  test('round robin over the endpoints of a service', async () => {
    const [x, y] = await h1Replicas(['127.0.0.91', '127.0.0.92']);
    cleanup.push(x.close, y.close);
    const { gateway } = await gatewayFor(
      inventoryOf([{ name: 'pool', ports: [{ port: 80, targetPort: x.port }], workloads: [{ name: 'p-x', address: x.address }, { name: 'p-y', address: y.address }] }]),
    );
    cleanup.push(gateway.close);
    for (let i = 0; i < 10; i++) assert.equal((await h1Request(gateway.port, { host: 'pool' })).status, 200);
    assert.equal(x.requests.length, 5);
    assert.equal(y.requests.length, 5);
  });

  test('an idempotent request is retried once on another endpoint when the connection is refused; a POST is not', async () => {
    const alive = await h1Backend('127.0.0.94');
    cleanup.push(alive.close);
    await deadPort('127.0.0.93', alive.port);
    const { gateway } = await gatewayFor(
      inventoryOf([
        { name: 'flaky', ports: [{ port: 80, targetPort: alive.port }], workloads: [{ name: 'f-dead', address: '127.0.0.93' }, { name: 'f-alive', address: alive.address }] },
      ]),
      // Retries alone: with ejection the dead endpoint would soon get no requests at all (dead-upstreams.test.ts).
      { outlier: { consecutiveFailures: 0 } },
    );
    cleanup.push(gateway.close);
    for (let i = 0; i < 6; i++) {
      const r = await h1Request(gateway.port, { host: 'flaky', path: `/get/${i}` });
      assert.equal(r.status, 200, r.body);
    }
    assert.equal(alive.requests.filter((r) => r.url.startsWith('/get/')).length, 6);
    assert.ok(gateway.metrics.retries > 0, 'some GETs hit the dead endpoint first and were retried');
    const posts = [];
    for (let i = 0; i < 2; i++) posts.push(await h1Request(gateway.port, { host: 'flaky', method: 'POST', path: '/post', body: 'data' }));
    assert.deepEqual(posts.map((p) => p.status).sort(), [200, 503]);
    const refused = posts.find((p) => p.status === 503)!;
    assert.equal(refused.headers['x-meshscope-error'], 'upstream-connect-failed');
    assert.match(refused.body, /cannot connect to flaky\.default endpoint 127\.0\.0\.93:/);
  });

  test('route timeout (--timeout) and per-request x-envoy-upstream-rq-timeout-ms give 504', async () => {
    const slow = await holdingBackend('127.0.0.95');
    cleanup.push(slow.backend.close);
    const inventory = inventoryOf([{ name: 'slow', ports: [{ port: 80, targetPort: slow.backend.port }], workloads: [{ name: 's-1', address: slow.backend.address }] }]);
    const { gateway: short } = await gatewayFor(inventory, { timeoutMs: 200 });
    cleanup.push(short.close);
    const t0 = Date.now();
    const r = await h1Request(short.port, { host: 'slow', path: '/global' });
    assert.equal(r.status, 504);
    assert.equal(r.headers['x-meshscope-error'], 'upstream-timeout');
    assert.ok(Date.now() - t0 >= 190, 'not before the timeout');

    const { gateway: long } = await gatewayFor(inventory, { timeoutMs: 60_000 });
    cleanup.push(long.close);
    const h = await h1Request(long.port, { host: 'slow', path: '/header', headers: { 'x-envoy-upstream-rq-timeout-ms': '100' } });
    assert.equal(h.status, 504);
    assert.match(h.body, /did not answer within 100 ms/);
    assert.equal(slow.heads.length, 2);
    assert.equal(slow.heads[1]['x-envoy-upstream-rq-timeout-ms'], undefined, 'the gateway consumes the timeout header');
    // The timed-out upstream requests were cancelled, not left running.
    await waitUntil(() => slow.closed >= 2, 'the backend to see both timed-out requests closed');
  });

  test('beyond the in-flight limit requests are refused with 503 overloaded, and served again once it drains', async () => {
    const slow = await holdingBackend('127.0.0.98');
    cleanup.push(slow.backend.close);
    const { gateway } = await gatewayFor(inventoryOf([{ name: 'busy', ports: [{ port: 80, targetPort: slow.backend.port }], workloads: [{ name: 'b-1', address: slow.backend.address }] }]), {
      maxInflight: 1,
    });
    cleanup.push(gateway.close);
    const first = h1Request(gateway.port, { host: 'busy', path: '/first' });
    await waitUntil(() => slow.held.length === 1, 'the backend to hold the first request');
    const second = await h1Request(gateway.port, { host: 'busy', path: '/second' });
    assert.equal(second.status, 503);
    assert.equal(second.headers['x-meshscope-error'], 'overloaded');
    slow.held[0].end('done');
    assert.equal((await first).body, 'done');
    const third = h1Request(gateway.port, { host: 'busy', path: '/third' });
    await waitUntil(() => slow.held.length === 2, 'the backend to receive the third request');
    slow.held[1].end('again');
    assert.equal((await third).body, 'again');
  });

  test('a caller that goes away cancels the upstream request', async () => {
    const slow = await holdingBackend('127.0.0.96');
    cleanup.push(slow.backend.close);
    const { gateway } = await gatewayFor(inventoryOf([{ name: 'hold', ports: [{ port: 80, targetPort: slow.backend.port }], workloads: [{ name: 'h-1', address: slow.backend.address }] }]));
    cleanup.push(gateway.close);
    const req = http.request({ host: '127.0.0.1', port: gateway.port, path: '/wait', headers: { host: 'hold' }, setHost: false, agent: false });
    req.on('error', () => undefined);
    req.end();
    await waitUntil(() => slow.held.length === 1, 'the backend to receive the request');
    req.destroy();
    await waitUntil(() => slow.closed === 1, 'the upstream request to be cancelled');
    await waitUntil(() => gateway.metrics.inflight === 0, 'the gateway to finish the request');
  });

  test('with the sink down requests still succeed, the buffer is bounded and drops are counted; records flow again when it returns', async () => {
    const backend = await h1Backend('127.0.0.97');
    cleanup.push(backend.close);
    const { gateway, sink } = await gatewayFor(
      inventoryOf([{ name: 'svc', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'v-1', address: backend.address }] }]),
      { report: { capacity: 5, retryMaxMs: 50, flushIntervalMs: 10 } },
    );
    cleanup.push(gateway.close);
    sink.down = true;
    for (let i = 0; i < 20; i++) assert.equal((await h1Request(gateway.port, { host: 'svc', path: `/r${i}` })).status, 200);
    const stats = gateway.reporter.stats();
    assert.equal(stats.depth, 5);
    assert.equal(stats.dropped, 15);
    await waitUntil(() => gateway.reporter.stats().failures > 0, 'a failed send to be counted');
    const text = await metricsText(gateway);
    assert.match(text, /meshscope_gateway_report_dropped_total 15\n/);
    assert.match(text, /meshscope_gateway_report_queue_depth 5\n/);
    sink.down = false;
    const delivered = await sink.waitFor((r) => r.path?.startsWith('/r') === true, 'the buffered records to be delivered', 5);
    assert.deepEqual(delivered.map((r) => r.path), ['/r0', '/r1', '/r2', '/r3', '/r4']);
  });
});
