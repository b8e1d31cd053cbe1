// Cleartext HTTP/2 (prior knowledge) through the gateway, and the protocol
// bridges: h2 caller → HTTP/1.1 service, HTTP/1.1 caller → h2 service.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { gatewayFor, h1Backend, h1Request, h2Backend, inventoryOf, type Backend, type MemorySink } from './helpers.ts';

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  trailers: http2.IncomingHttpHeaders | undefined;
}

function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    let data = '';
    stream.on('response', (h) => {
      head = h;
      status = Number(h[':status']);
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => resolve({ status, headers: head, body: data, trailers }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

describe('gateway over HTTP/2', () => {
  let h2: Backend;
  let h1: Backend;
  let gateway: Gateway;
  let sink: MemorySink;
  let session: http2.ClientHttp2Session;

  before(async () => {
    h2 = await h2Backend('127.0.0.41');
    h1 = await h1Backend('127.0.0.42');
    ({ gateway, sink } = await gatewayFor(
      inventoryOf([
        { name: 'fast', ports: [{ port: 8080, targetPort: h2.port, protocol: 'http2' }], workloads: [{ name: 'fast-1', address: h2.address }] },
        { name: 'plain', ports: [{ port: 9080, targetPort: h1.port, protocol: 'http' }], workloads: [{ name: 'plain-1', address: h1.address }] },
        { name: 'client', ports: [], workloads: [{ name: 'client-1', address: '127.0.0.49' }] },
      ]),
    ));
    session = http2.connect(`http://127.0.0.1:${gateway.port}`);
  });

  after(async () => {
    session.close();
    await gateway.close();
    await h2.close();
    await h1.close();
  });

  test('h2 caller → h2 service: body, headers and trailers intact; one upstream session for many streams', async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h2Request(session, { ':method': 'POST', ':path': `/item/${i}`, ':authority': 'fast:8080', 'x-meshscope-source': 'client-1.default' }, `payload-${i}`),
      ),
    );
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body, `${h2.address} POST /item/${i} ${`payload-${i}`.length}`);
      assert.equal(r.headers['x-backend'], h2.address);
      assert.equal(r.trailers?.['x-trailer'], 'done');
    });
    assert.equal(h2.connections, 1, 'all streams share one upstream HTTP/2 session');
    const recs = await sink.waitFor((r) => r.authority === 'fast:8080' && r.path?.startsWith('/item/') === true, 'records of the h2 calls', 20);
    assert.equal(recs[0].protocol, 'http2');
    assert.equal(recs[0].source, 'client-1.default');
  });

  test('h2 caller → HTTP/1.1 service', async () => {
    const r = await h2Request(session, { ':method': 'PUT', ':path': '/x?q=1', ':authority': 'plain.default.svc.cluster.local:9080' }, 'abc');
    assert.equal(r.status, 200);
    assert.equal(r.body, `${h1.address} PUT /x?q=1 3`);
    const seen = h1.requests.find((q) => q.url === '/x?q=1')!;
    assert.equal(seen.headers.host, 'plain.default.svc.cluster.local:9080');
  });

  test('HTTP/1.1 caller → h2 service, trailers arrive as chunked trailers', async () => {
    const r = await h1Request(gateway.port, { host: 'fast:8080', path: '/from-h1', method: 'POST', body: 'hello', headers: { te: 'trailers' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, `${h2.address} POST /from-h1 5`);
    assert.equal(r.trailers['x-trailer'], 'done');
    const seen = h2.requests.find((q) => q.url === '/from-h1')!;
    assert.equal(seen.headers[':authority'], 'fast:8080');
  });

  test('h2 request trailers reach an h2 service', async () => {
    const seen: http2.IncomingHttpHeaders[] = [];
    const backend = await h2Backend('127.0.0.43', (stream) => {
      stream.on('trailers', (t) => seen.push(t));
      stream.resume();
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      });
      return true;
    });
    const { gateway: gw } = await gatewayFor(
      inventoryOf([{ name: 'tr', ports: [{ port: 80, targetPort: backend.port, protocol: 'http2' }], workloads: [{ name: 'tr-1', address: backend.address }] }]),
    );
    const s2 = http2.connect(`http://127.0.0.1:${gw.port}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const s = s2.request({ ':method': 'POST', ':path': '/', ':authority': 'tr' }, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'x-digest': 'sha-2' }));
        s.on('response', (h) => resolve(Number(h[':status'])));
        s.on('error', reject);
        s.resume();
        s.end('payload');
      });
      assert.equal(status, 200);
      assert.equal(seen[0]?.['x-digest'], 'sha-2');
    } finally {
      s2.close();
      await gw.close();
      await backend.close();
    }
  });

  test('the gateway advertises its HTTP/2 stream limit', async () => {
    await new Promise<void>((resolve) => (session.remoteSettings.maxConcurrentStreams ? resolve() : session.once('remoteSettings', () => resolve())));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 256);
  });
});
