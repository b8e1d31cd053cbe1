// The gateway's own HTTP/1.1 client against hand-written upstream responses:
// framing (length, chunked with trailers, no body, until close), interim 1xx,
// broken upstreams, and keep-alive connections that die under it.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { gatewayFor, h1Request, inventoryOf } from './helpers.ts';

interface RawRequest {
  method: string;
  path: string;
  /** 0-based index of the connection, and of the request on it. */
  conn: number;
  seq: number;
}

/** What the upstream does: bytes to write (then keep the connection), or 'close' / 'close-after' to end it. */
type Script = (req: RawRequest) => { bytes: string; then?: 'keep' | 'close' } | 'close';

/** A raw TCP upstream that reads request heads (and declared bodies) and answers per the script. */
async function rawUpstream(address: string, script: Script): Promise<{ port: number; connections: () => number; requests: () => string[]; close: () => Promise<void> }> {
  let conns = 0;
  const paths: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const conn = conns++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let seq = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.toString('latin1', 0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.subarray(end + 4 + length);
        const [method, path] = head.split(' ');
        paths.push(path);
        const action = script({ method, path, conn, seq: seq++ });
        if (action === 'close') {
          socket.destroy();
          return;
        }
        socket.write(action.bytes);
        if (action.then === 'close') socket.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => conns,
    requests: () => paths,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const ok = (body: string, extra = '') => ({ bytes: `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}` });

/** Status lines RFC 9112 §4 does not allow (the upstream answers them in turn, one per request on a connection). */
const BAD_STATUS_LINES = [
  'HTTP/1.9 200 OK', // no such version
  'HTTP/1.1 1e2 Continue', // Number() reads 100: an interim response, and a wait for a final one that never comes
  'HTTP/1.1 2000 OK',
  'HTTP/1.1 099 Low',
  'HTTP/1.1  200 OK',
  'HTTP/1.1 200 O\x00K',
  'HTTP/2 200 OK',
  'http/1.1 200 OK',
];

const GOOD_STATUS_LINES = ['HTTP/1.1 200', 'HTTP/1.1 200 ', 'HTTP/1.0 200 OK', 'HTTP/1.1 299 Whatever\tit is \xe9'];
let statusAnswers = 0;
let goodAnswers = 0;

const SCRIPT: Script = ({ method, path, seq }) => {
  switch (path) {
    case '/chunked-trailers':
      return { bytes: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-checksum: abc123\r\n\r\n' };
    case '/head':
      return { bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n' };
    case '/no-content':
      return { bytes: 'HTTP/1.1 204 No Content\r\n\r\n' };
    case '/until-close':
      return { bytes: 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of this until the end', then: 'close' };
    case '/interim':
      return { bytes: 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal' };
    case '/garbage':
      return { bytes: 'SMTP ready\r\n\r\n' };
    case '/split':
      // A bare CR inside a value: passed on, it could split the caller's response.
      return { bytes: 'HTTP/1.1 200 OK\r\nx-a: b\rinjected: yes\r\ncontent-length: 0\r\n\r\n' };
    case '/smuggle':
      return { bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n' };
    case '/status':
      return { bytes: `${BAD_STATUS_LINES[statusAnswers++ % BAD_STATUS_LINES.length]}\r\ncontent-length: 2\r\n\r\nok` };
    case '/status-good':
      return { bytes: `${GOOD_STATUS_LINES[goodAnswers++ % GOOD_STATUS_LINES.length]}\r\ncontent-length: 2\r\n\r\nok` };
    case '/status-bare-lf':
      // A head that never shows CRLF CRLF: refused when the bare LF arrives, not awaited forever (no route timeout by default).
      return { bytes: 'HTTP/1.1 200 OK\ncontent-length: 2\n\nok' };
    case '/flaky':
      // The second request on a kept-alive connection finds it closed under it.
      return seq === 0 ? ok('first') : 'close';
    default:
      return ok(`${method} ${path}`);
  }
};

describe("the gateway's HTTP/1.1 upstream client", () => {
  let upstream: Awaited<ReturnType<typeof rawUpstream>>;
  let gateway: Gateway;

  before(async () => {
    upstream = await rawUpstream('127.0.0.151', SCRIPT);
    ({ gateway } = await gatewayFor(inventoryOf([{ name: 'raw', ports: [{ port: 80, targetPort: upstream.port }], workloads: [{ name: 'raw-0', address: '127.0.0.151' }] }])));
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  const get = (path: string, method = 'GET', body?: string) => h1Request(gateway.port, { host: 'raw', path, method, body });

  test('chunked body with chunk extensions and trailers reaches HTTP/1.1 and HTTP/2 callers', async () => {
    const r = await get('/chunked-trailers');
    assert.equal(r.body, 'hello world');
    assert.equal(r.trailers['x-checksum'], 'abc123');
    const session = http2.connect(`http://127.0.0.1:${gateway.port}`);
    try {
      const h2 = await new Promise<{ body: string; trailers: http2.IncomingHttpHeaders | undefined }>((resolve, reject) => {
        const s = session.request({ ':path': '/chunked-trailers', ':authority': 'raw' });
        let body = '';
        let trailers: http2.IncomingHttpHeaders | undefined;
        s.setEncoding('utf8');
        s.on('data', (d: string) => (body += d));
        s.on('trailers', (t) => (trailers = t));
        s.on('end', () => resolve({ body, trailers }));
        s.on('error', reject);
      });
      assert.equal(h2.body, 'hello world');
      assert.equal(h2.trailers?.['x-checksum'], 'abc123');
    } finally {
      session.close();
    }
  });

  test('HEAD, 204 and 1xx interim responses are framed right and keep the connection', async () => {
    const before = upstream.connections();
    const head = await get('/head', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1234');
    assert.equal((await get('/no-content')).status, 204);
    const interim = await get('/interim');
    assert.equal(interim.status, 200);
    assert.equal(interim.body, 'final');
    assert.equal((await get('/plain')).body, 'GET /plain');
    assert.ok(upstream.connections() - before <= 1, 'one upstream connection served all four');
  });

  test('a body delimited by the connection closing arrives whole; that connection is not reused', async () => {
    const r = await get('/until-close');
    assert.equal(r.body, 'all of this until the end');
    const before = upstream.connections();
    assert.equal((await get('/after-close')).body, 'GET /after-close');
    assert.equal(upstream.connections(), before + 1);
  });

  test('a malformed upstream response is a 502, and a conflicting framing never reuses the connection', async () => {
    const bad = await get('/garbage');
    assert.equal(bad.status, 502);
    assert.equal(bad.headers['x-meshscope-error'], 'upstream-protocol-error');
    assert.match(bad.body, /bad upstream status line/);
    const split = await get('/split');
    assert.equal(split.status, 502);
    assert.equal(split.headers.injected, undefined);
    assert.match(split.body, /bare CR\/LF/);
    const smuggled = await get('/smuggle');
    assert.equal(smuggled.body, 'wxyz', 'chunked wins over content-length');
    const before = upstream.connections();
    assert.equal((await get('/next')).body, 'GET /next');
    assert.equal(upstream.connections(), before + 1);
  });

  test('bad status lines are a 502 with a reason, never a hang; fine ones pass', async () => {
    for (const line of BAD_STATUS_LINES) {
      const r = await get('/status');
      assert.equal(r.status, 502, `${JSON.stringify(line)}: ${r.body}`);
      assert.equal(r.headers['x-meshscope-error'], 'upstream-protocol-error', line);
      assert.match(r.body, /bad upstream status line|bare CR\/LF/, line);
    }
    const bareLf = await get('/status-bare-lf');
    assert.equal(bareLf.status, 502, bareLf.body);
    assert.equal(bareLf.headers['x-meshscope-error'], 'upstream-protocol-error');
    for (const line of GOOD_STATUS_LINES) {
      const r = await get('/status-good');
      assert.equal(r.body, 'ok', `${JSON.stringify(line)}: ${r.body}`);
      assert.equal(r.status, Number(line.slice(9, 12)), line);
    }
  });

  test('a request line that cannot be written as HTTP/1.1 is refused before it goes out', async () => {
    const before = upstream.requests().length;
    const session = http2.connect(`http://127.0.0.1:${gateway.port}`);
    try {
      // nghttp2 lets obs-text through in :path; an HTTP/1.1 request-target is visible ASCII only.
      const status = await new Promise<{ status: number; error: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/caf\u00e9', ':authority': 'raw' });
        s.on('response', (h) => resolve({ status: Number(h[':status']), error: String(h['x-meshscope-error']) }));
        s.on('error', reject);
        s.resume();
      });
      assert.deepEqual(status, { status: 400, error: 'bad-request' });
    } finally {
      session.close();
    }
    assert.equal(upstream.requests().length, before, 'nothing reached the upstream');
  });

  test('a kept-alive connection that dies before answering: GET is retried on a fresh one, POST is not', async () => {
    assert.equal((await get('/flaky')).body, 'first');
    const retried = await get('/flaky');
    assert.equal(retried.status, 200);
    assert.equal(retried.body, 'first', 'answered by a fresh connection');
    assert.equal((await get('/flaky')).status, 200); // seq 1 on the fresh connection: closed, retried again
    const post = await get('/flaky', 'POST', 'x');
    assert.equal(post.status, 502);
    assert.equal(post.headers['x-meshscope-error'], 'upstream-reset');
  });
});
