// Not an open proxy: everything outside the inventory is refused with a clear
// status, an x-meshscope-error reason and a one-line body, and still reported.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { gatewayFor, h1Backend, h1Request, inventoryOf, metricsText, type Backend, type MemorySink } from './helpers.ts';

/** Sends one raw request and returns the raw response; callers ask for `Connection: close` so the end is the close. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      out += d;
    });
    socket.on('end', () => resolve(out));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.write(text);
  });
}

function parse(response: string): { status: number; reason: string | undefined; body: string } {
  const [head, body] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), reason: /x-meshscope-error: ([\w-]+)/i.exec(head)?.[1], body: body ?? '' };
}

describe('abuse is refused', () => {
  let backend: Backend;
  let gateway: Gateway;
  let sink: MemorySink;

  before(async () => {
    backend = await h1Backend('127.0.0.81', (req, res, body) => {
      res.writeHead(200);
      res.end(`got ${body.length}`);
    });
    ({ gateway, sink } = await gatewayFor(
      inventoryOf([
        {
          name: 'reviews',
          namespace: 'shop',
          clusterIP: '10.96.0.40',
          ports: [{ port: 9080, targetPort: backend.port }],
          workloads: [{ name: 'reviews-1', address: backend.address }],
        },
        { name: 'empty', namespace: 'shop', ports: [{ port: 80 }], workloads: [] },
      ]),
      { maxRequestBodyBytes: 1000, maxHeaderBytes: 8 * 1024 },
    ));
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  async function expectRefused(label: string, got: { status: number; reason: string | undefined; body: string }, status: number, reason: string, authority?: string): Promise<void> {
    assert.equal(got.status, status, `${label}: ${got.body}`);
    assert.equal(got.reason, reason, label);
    assert.match(got.body, /^meshscope gateway: [^\n]+\n$/, `${label}: one-line body`);
    if (authority !== undefined) {
      const [rec] = await sink.waitFor((r) => r.authority === authority && r.code === status, `record of ${label}`);
      assert.equal(rec.upstreamCluster, undefined, `${label} is reported unresolved`);
      assert.equal(rec.reporter, 'gateway');
    }
  }

  test('absolute-form requests to other hosts', async () => {
    const got = parse(await raw(gateway.port, 'GET http://example.com/latest HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'));
    await expectRefused('absolute-form', got, 403, 'absolute-form-unknown-host', 'example.com');
    // The absolute-form host wins over a Host header naming an inventory service.
    const sneaky = parse(await raw(gateway.port, 'GET http://evil.example:80/ HTTP/1.1\r\nHost: reviews.shop:9080\r\nConnection: close\r\n\r\n'));
    await expectRefused('absolute-form with an inventory Host', sneaky, 403, 'absolute-form-unknown-host', 'evil.example:80');
    // Absolute-form naming an inventory service is an ordinary request.
    const fine = parse(await raw(gateway.port, 'GET http://reviews.shop:9080/ok HTTP/1.1\r\nHost: reviews.shop:9080\r\nConnection: close\r\n\r\n'));
    assert.equal(fine.status, 200);
    assert.ok(backend.requests.some((r) => r.url === '/ok'));
  });

  test('CONNECT, over HTTP/1.1 and HTTP/2, even to an inventory service', async () => {
    const got = parse(await raw(gateway.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
    await expectRefused('CONNECT', got, 405, 'connect-not-allowed', 'example.com:443');
    const inv = parse(await raw(gateway.port, 'CONNECT reviews.shop:9080 HTTP/1.1\r\nHost: reviews.shop:9080\r\n\r\n'));
    await expectRefused('CONNECT to a service', inv, 405, 'connect-not-allowed');
    const session = http2.connect(`http://127.0.0.1:${gateway.port}`);
    try {
      const h2 = await new Promise<{ status: number; reason: string | undefined; body: string }>((resolve, reject) => {
        const s = session.request({ ':method': 'CONNECT', ':authority': 'example.org:443' });
        let status = 0;
        let reason: string | undefined;
        let body = '';
        s.on('response', (h) => {
          status = Number(h[':status']);
          reason = h['x-meshscope-error'] as string;
        });
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('end', () => resolve({ status, reason, body }));
        s.on('error', reject);
      });
      await expectRefused('h2 CONNECT', h2, 405, 'connect-not-allowed', 'example.org:443');
    } finally {
      session.close();
    }
  });

  test('unknown authorities and unknown ports', async () => {
    const unknown = await h1Request(gateway.port, { host: 'nosuch.shop:80' });
    await expectRefused('unknown', { status: unknown.status, reason: unknown.headers['x-meshscope-error'] as string, body: unknown.body }, 404, 'unknown-authority', 'nosuch.shop:80');
    const port = await h1Request(gateway.port, { host: 'reviews.shop:1234' });
    await expectRefused('unknown port', { status: port.status, reason: port.headers['x-meshscope-error'] as string, body: port.body }, 404, 'unknown-port', 'reviews.shop:1234');
    const none = await h1Request(gateway.port, { host: 'empty.shop' });
    await expectRefused('no endpoints', { status: none.status, reason: none.headers['x-meshscope-error'] as string, body: none.body }, 503, 'no-endpoints');
  });

  test('IP literals outside the inventory (metadata service, loopback, the gateway itself)', async () => {
    for (const host of ['169.254.169.254', '169.254.169.254:80', '[::1]:80', '127.0.0.1', `127.0.0.1:${gateway.adminPort}`, '10.0.0.1:9080']) {
      const r = await h1Request(gateway.port, { host, path: '/latest/meta-data/' });
      await expectRefused(host, { status: r.status, reason: r.headers['x-meshscope-error'] as string, body: r.body }, 403, 'ip-not-in-inventory', host);
    }
    // The clusterIP and the pod IP of an inventory service are fine.
    assert.equal((await h1Request(gateway.port, { host: '10.96.0.40:9080' })).status, 200);
    assert.equal((await h1Request(gateway.port, { host: `${backend.address}:${backend.port}` })).status, 200);
  });

  test('a request without any authority', async () => {
    const got = parse(await raw(gateway.port, 'GET / HTTP/1.0\r\n\r\n'));
    await expectRefused('no Host', got, 400, 'missing-authority');
  });

  test('oversized headers are refused with 431', async () => {
    const got = parse(await raw(gateway.port, `GET / HTTP/1.1\r\nHost: reviews.shop:9080\r\nConnection: close\r\nx-big: ${'a'.repeat(16 * 1024)}\r\n\r\n`));
    assert.equal(got.status, 431);
    assert.equal(got.reason, 'headers-too-large');
  });

  test('oversized bodies are refused with 413, declared or chunked', async () => {
    const declared = await h1Request(gateway.port, { host: 'reviews.shop:9080', method: 'POST', path: '/big', body: Buffer.alloc(5000) });
    await expectRefused('declared', { status: declared.status, reason: declared.headers['x-meshscope-error'] as string, body: declared.body }, 413, 'request-too-large');
    const chunked = parse(
      await raw(gateway.port, `POST /big-chunked HTTP/1.1\r\nHost: reviews.shop:9080\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${'800\r\n' + 'x'.repeat(0x800) + '\r\n'}0\r\n\r\n`),
    );
    await expectRefused('chunked', chunked, 413, 'request-too-large');
    const small = await h1Request(gateway.port, { host: 'reviews.shop:9080', method: 'POST', path: '/small', body: Buffer.alloc(900) });
    assert.equal(small.body, 'got 900');
  });

  test('rejections are counted by reason', async () => {
    const text = await metricsText(gateway);
    for (const reason of ['absolute-form-unknown-host', 'connect-not-allowed', 'unknown-authority', 'ip-not-in-inventory', 'request-too-large']) {
      assert.match(text, new RegExp(`meshscope_gateway_rejected_total\\{reason="${reason}"\\} [1-9]`), reason);
    }
  });
});
