// HTTP/1.1 through the gateway: routing by every spelling, pooled keep-alive
// upstream connections, streaming of chunked and large bodies, header rules.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { gatewayFor, h1Backend, h1Request, inventoryOf, type Backend, type MemorySink } from './helpers.ts';
import type { Gateway } from '../../lazy-gateway/index.ts';

describe('gateway over HTTP/1.1', () => {
  let a: Backend;
  let b: Backend;
  let gateway: Gateway;
  let sink: MemorySink;

  before(async () => {
    a = await h1Backend('127.0.0.11');
    b = await h1Backend('127.0.0.12');
    const inventory = inventoryOf([
      {
        name: 'reviews',
        namespace: 'shop',
        clusterIP: '10.96.0.12',
        ports: [{ port: 9080, targetPort: a.port, protocol: 'http' }],
        workloads: [{ name: 'reviews-a', address: a.address }],
      },
      // Two endpoints on the same target port, so the backend on 127.0.0.12 must listen on a's port too:
      // instead give it its own service to keep ports honest.
      { name: 'ratings', namespace: 'shop', ports: [{ port: 80, targetPort: b.port }], workloads: [{ name: 'ratings-b', address: b.address }] },
      { name: 'productpage', namespace: 'shop', ports: [], workloads: [{ name: 'productpage-1', address: '127.0.0.21' }] },
    ]);
    ({ gateway, sink } = await gatewayFor(inventory));
  });

  after(async () => {
    await gateway.close();
    await a.close();
    await b.close();
  });

  test('every spelling of a service reaches it; short names resolve in the caller namespace', async () => {
    const spellings = [
      'reviews:9080',
      'reviews.shop:9080',
      'reviews.shop.svc:9080',
      'reviews.shop.svc.cluster.local:9080',
      'REVIEWS.shop.svc.cluster.local.:9080',
      '10.96.0.12:9080',
    ];
    for (const host of spellings) {
      const res = await h1Request(gateway.port, { host, path: '/who', localAddress: '127.0.0.21' });
      assert.equal(res.status, 200, `${host}: ${res.body}`);
      assert.equal(res.body, `${a.address} GET /who 0`, host);
    }
    // No port: port 80 if the service has it, else its only port.
    assert.equal((await h1Request(gateway.port, { host: 'ratings', localAddress: '127.0.0.21' })).body, `${b.address} GET / 0`);
    assert.equal((await h1Request(gateway.port, { host: 'reviews', localAddress: '127.0.0.21' })).body, `${a.address} GET / 0`);
    // A caller outside the namespace cannot use the short name.
    const outside = await h1Request(gateway.port, { host: 'reviews:9080', localAddress: '127.0.0.99' });
    assert.equal(outside.status, 404);
    assert.equal(outside.headers['x-meshscope-error'], 'unknown-authority');
  });

  test('keep-alive: many requests share one upstream connection', async () => {
    const before = a.connections;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 50; i++) {
        const res = await h1Request(gateway.port, { host: 'reviews.shop:9080', path: `/n/${i}`, agent });
        assert.equal(res.status, 200);
      }
    } finally {
      agent.destroy();
    }
    assert.ok(a.connections - before <= 1, `expected at most one new upstream connection for 50 sequential requests, saw ${a.connections - before}`);
    assert.ok(a.connections >= 1);
  });

  test('chunked bodies stream both ways, chunk by chunk, while the request is still open', async () => {
    // The backend echoes each request chunk as a response chunk at once; the
    // client sends its next chunk only after the echo of the previous one came
    // back, so nothing may be held until the end of either body.
    const backend = await h1Backend('127.0.0.13', undefined, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-request-te': String(req.headers['transfer-encoding']) });
      req.on('data', (c: Buffer) => res.write(c));
      req.on('end', () => res.end());
    });
    const { gateway: gw } = await gatewayFor(
      inventoryOf([{ name: 'echo', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'echo-1', address: backend.address }] }]),
    );
    try {
      const parts = ['first-', 'second-', 'third'];
      const result = await new Promise<{ te: string | undefined; echoes: string[] }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { host: 'echo' }, setHost: false }, (r) => {
          const echoes: string[] = [];
          let sent = 1;
          r.on('data', (c: Buffer) => {
            echoes.push(c.toString());
            if (echoes.join('') === parts.slice(0, sent).join('')) {
              if (sent < parts.length) req.write(parts[sent++]);
              else req.end();
            }
          });
          r.on('end', () => resolve({ te: r.headers['transfer-encoding'], echoes }));
        });
        req.on('error', reject);
        req.flushHeaders();
        req.write(parts[0]);
      });
      assert.equal(result.te, 'chunked');
      assert.equal(result.echoes.join(''), parts.join(''));
      assert.ok(result.echoes.length >= parts.length, `each part came back on its own: ${JSON.stringify(result.echoes)}`);
    } finally {
      await gw.close();
      await backend.close();
    }
  });

  test('request trailers of a chunked body reach the upstream', async () => {
    const backend = await h1Backend('127.0.0.15', (req, res, body) => {
      res.writeHead(200, { 'x-got-trailer': String(req.trailers['x-digest']) });
      res.end(String(body.length));
    });
    const { gateway: gw } = await gatewayFor(
      inventoryOf([{ name: 'tr', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'tr-1', address: backend.address }] }]),
    );
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { host: 'tr', trailer: 'x-digest' }, setHost: false }, resolve);
        req.on('error', reject);
        req.write('abc');
        req.addTrailers({ 'x-digest': 'sha-1' });
        req.end();
      });
      res.resume();
      assert.equal(res.headers['x-got-trailer'], 'sha-1');
    } finally {
      await gw.close();
      await backend.close();
    }
  });

  test('a 10 MB body goes up and a 10 MB body comes back, streamed', async () => {
    const size = 10 * 1024 * 1024;
    const backend = await h1Backend('127.0.0.14', (req, res, body) => {
      res.writeHead(200, { 'content-length': String(size), 'x-got': String(body.length) });
      // Send in 64 KiB pieces so the gateway sees many chunks.
      const piece = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const pump = () => {
        while (sent < size) {
          sent += piece.length;
          if (!res.write(piece)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const { gateway: gw, sink: records } = await gatewayFor(
      inventoryOf([{ name: 'big', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'big-1', address: backend.address }] }]),
    );
    try {
      const body = Readable.from((function* () {
        for (let i = 0; i < 160; i++) yield Buffer.alloc(64 * 1024, i);
      })());
      const got = await new Promise<{ status: number; got: string | undefined; bytes: number }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/blob', headers: { host: 'big', 'content-length': size }, setHost: false }, (r) => {
          let bytes = 0;
          r.on('data', (c: Buffer) => (bytes += c.length));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, got: r.headers['x-got'] as string, bytes }));
        });
        req.on('error', reject);
        body.pipe(req);
      });
      assert.equal(got.status, 200);
      assert.equal(got.got, String(size));
      assert.equal(got.bytes, size);
      const [rec] = await records.waitFor((r) => r.path === '/blob', 'record of the 10 MB exchange');
      assert.equal(rec.bytesReceived, size);
      assert.equal(rec.bytesSent, size);
    } finally {
      await gw.close();
      await backend.close();
    }
  });

  test('end-to-end headers kept, hop-by-hop dropped, x-forwarded-for added, x-meshscope-source stripped', async () => {
    const res = await h1Request(gateway.port, {
      host: 'reviews:9080',
      path: '/h',
      localAddress: '127.0.0.21',
      headers: {
        'x-custom': 'kept',
        connection: 'keep-alive, x-hop',
        'x-hop': 'dropped',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic c2VjcmV0',
        'x-forwarded-for': '10.0.0.1',
        'x-meshscope-source': 'productpage-1.shop',
        'x-request-id': 'req-abc',
      },
    });
    assert.equal(res.status, 200);
    const seen = [...a.requests].reverse().find((r) => r.url === '/h')!;
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers['x-hop'], undefined);
    assert.equal(seen.headers['proxy-authorization'], undefined);
    assert.equal(seen.headers['x-meshscope-source'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.21');
    assert.equal(seen.headers['x-request-id'], 'req-abc');
    assert.equal(seen.headers.host, 'reviews:9080');
    const [rec] = await sink.waitFor((r) => r.requestId === 'req-abc', 'record with the caller request id');
    assert.equal(rec.source, 'productpage-1.shop');
    assert.equal(rec.authority, 'reviews:9080');
    assert.equal(rec.upstreamCluster, 'outbound|9080||reviews.shop.svc.cluster.local');
    assert.equal(rec.reporter, 'gateway');
    assert.equal(rec.code, 200);
    assert.equal(rec.method, 'GET');
  });

  test('a generated x-request-id goes upstream and into the record', async () => {
    await h1Request(gateway.port, { host: 'reviews:9080', path: '/rid', localAddress: '127.0.0.21' });
    const seen = [...a.requests].reverse().find((r) => r.url === '/rid')!;
    const id = seen.headers['x-request-id'] as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    await sink.waitFor((r) => r.requestId === id && r.path === '/rid', 'record with the generated request id');
  });
});
