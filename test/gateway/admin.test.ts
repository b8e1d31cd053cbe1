// The admin port, graceful shutdown, and the one-port protocol sniffing.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { waitUntil } from '../harness/wait.ts';
import { gatewayFor, h1Backend, h1Request, h2Backend, inventoryOf, metricsText } from './helpers.ts';

test('admin: /healthz, /readyz and Prometheus /metrics', async () => {
  const backend = await h1Backend('127.0.0.101');
  const { gateway } = await gatewayFor(
    inventoryOf([
      { name: 'api', namespace: 'prod', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'api-1', address: backend.address }] },
      { name: 'web', namespace: 'prod', ports: [], workloads: [{ name: 'web-1', address: '127.0.0.102' }] },
    ]),
  );
  try {
    for (let i = 0; i < 3; i++) await h1Request(gateway.port, { host: 'api.prod', method: 'POST', body: 'abcd', localAddress: '127.0.0.102' });
    await h1Request(gateway.port, { host: 'nope.prod', localAddress: '127.0.0.102' });
    const base = `http://127.0.0.1:${gateway.adminPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const res = await fetch(`${base}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metricsText(gateway);
    assert.match(text, /meshscope_gateway_requests_total\{source="web\.prod",destination="api\.prod",code="200"\} 3\n/);
    assert.match(text, /meshscope_gateway_requests_total\{source="web\.prod",destination="unresolved",code="404"\} 1\n/);
    assert.match(text, /meshscope_gateway_received_bytes_total 12\n/);
    const sent = Number(/meshscope_gateway_sent_bytes_total (\d+)/.exec(text)?.[1]);
    assert.ok(sent > 0);
    assert.match(text, /meshscope_gateway_upstream_latency_seconds_count\{protocol="http"\} 3\n/);
    assert.match(text, /meshscope_gateway_upstream_latency_seconds_bucket\{protocol="http",le="\+Inf"\} 3\n/);
    assert.match(text, /# TYPE meshscope_gateway_report_queue_depth gauge/);
    assert.match(text, /meshscope_gateway_report_dropped_total 0\n/);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await gateway.close();
    await backend.close();
  }
});

test('graceful shutdown: in-flight requests finish, readiness drops, new connections are refused', async () => {
  const held: http.ServerResponse[] = [];
  const backend = await h1Backend('127.0.0.103', undefined, (req, res) => {
    req.resume();
    held.push(res);
  });
  const { gateway } = await gatewayFor(inventoryOf([{ name: 'slow', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 's', address: backend.address }] }]));
  try {
    const inFlight = h1Request(gateway.port, { host: 'slow', path: '/long' });
    await waitUntil(() => held.length === 1, 'the backend to hold the request');
    const closing = gateway.close();
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${gateway.adminPort}/readyz`)).status === 503, 'readyz to report draining');
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(gateway.port, '127.0.0.1');
      s.on('connect', () => resolve('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
    held[0].end('finished late');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'finished late');
    assert.equal(r.headers.connection, 'close');
    await closing;
  } finally {
    await gateway.close();
    await backend.close();
  }
});

test('one port: h2c prior knowledge and HTTP/1.1 (methods starting with P too), even when the preface arrives in pieces', async () => {
  const b1 = await h1Backend('127.0.0.104');
  const b2 = await h2Backend('127.0.0.105');
  const { gateway } = await gatewayFor(
    inventoryOf([
      { name: 'one', ports: [{ port: 80, targetPort: b1.port }], workloads: [{ name: 'o', address: b1.address }] },
      { name: 'two', ports: [{ port: 80, targetPort: b2.port, protocol: 'http2' }], workloads: [{ name: 't', address: b2.address }] },
    ]),
  );
  try {
    for (const method of ['PUT', 'PATCH', 'POST']) {
      const r = await h1Request(gateway.port, { host: 'one', method, body: 'x' });
      assert.equal(r.body, `${b1.address} ${method} / 1`);
    }
    // A socket that trickles the HTTP/2 preface: the gateway waits for enough bytes to decide.
    const session = http2.connect(`http://127.0.0.1:${gateway.port}`, {
      createConnection: () => {
        const socket = net.connect(gateway.port, '127.0.0.1');
        const write = socket.write.bind(socket) as (chunk: Buffer, cb?: () => void) => boolean;
        let first = true;
        (socket as unknown as { write: typeof write }).write = (chunk: Buffer, cb?: () => void) => {
          if (!first) return write(chunk, cb);
          first = false;
          // Three separate writes for the first packet, each after the previous one left.
          write(chunk.subarray(0, 3), () => write(chunk.subarray(3, 10), () => write(chunk.subarray(10), cb)));
          return true;
        };
        return socket;
      },
    });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/trickle', ':authority': 'two' });
        let out = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => (out += d));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
      assert.equal(body, `${b2.address} GET /trickle 0`);
    } finally {
      session.close();
    }
  } finally {
    await gateway.close();
    await b1.close();
    await b2.close();
  }
});
