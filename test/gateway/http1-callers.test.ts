// The gateway's own HTTP/1.1 server side against hand-written callers:
// request smuggling patterns refused before anything goes upstream,
// pipelining, HTTP/1.0, 100-continue, idle heads and stalled bodies,
// backpressure toward callers that do not read.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Gateway } from '../../lazy-gateway/index.ts';
import { waitUntil } from '../harness/wait.ts';
import { gatewayFor, h1Backend, h2Backend, inventoryOf, type Backend } from './helpers.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A caller that writes raw bytes and reads responses off one connection. */
class RawCaller {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  ended = false;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /** Writes the text byte for byte (latin1), so tests can send any octet. */
  send(text: string): this {
    this.socket.write(Buffer.from(text, 'latin1'));
    return this;
  }

  /** Waits for more bytes; a gateway that stays silent fails the test instead of hanging it. */
  private async more(what: string, timeoutMs = 5_000): Promise<void> {
    if (this.ended) throw new Error(`connection ended before ${what}; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiting = resolve;
        timer = setTimeout(() => reject(new Error(`still waiting for ${what} after ${timeoutMs} ms; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`)), timeoutMs);
      });
    } finally {
      clearTimeout(timer);
      this.waiting = null;
    }
  }

  /** Resolves once a response head has arrived, without consuming it. */
  async headArrived(): Promise<void> {
    while (this.buf.indexOf('\r\n\r\n') === -1) await this.more('a response head');
  }

  /** The next response; a body without length or chunking runs to the end of the connection. */
  async response(timeoutMs = 5_000): Promise<RawResponse> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) === -1) await this.more('a response head', timeoutMs);
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    this.buf = this.buf.subarray(end + 4);
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (status < 200) return { status, headers, body: '' };
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      while (this.buf.length < n) await this.more('the body');
      const body = this.buf.toString('utf8', 0, n);
      this.buf = this.buf.subarray(n);
      return { status, headers, body };
    }
    if (headers['transfer-encoding'] === 'chunked') {
      let body = '';
      for (;;) {
        let eol: number;
        while ((eol = this.buf.indexOf('\r\n')) === -1) await this.more('a chunk size');
        const size = parseInt(this.buf.toString('latin1', 0, eol), 16);
        while (this.buf.length < eol + 2 + size + 2) await this.more('a chunk');
        body += this.buf.toString('utf8', eol + 2, eol + 2 + size);
        this.buf = this.buf.subarray(eol + 2 + size + 2);
        if (size === 0) return { status, headers, body };
      }
    }
    while (!this.ended) await this.more('the end of a close-delimited body').catch(() => undefined);
    const body = this.buf.toString('utf8');
    this.buf = Buffer.alloc(0);
    return { status, headers, body };
  }
}

describe("the gateway's HTTP/1.1 callers", () => {
  let backend: Backend;
  let gateway: Gateway;

  before(async () => {
    backend = await h1Backend('127.0.0.161', (req, res, body) => {
      if (req.url === '/unsized') {
        // No content-length: chunked to HTTP/1.1 callers, delimited by close to HTTP/1.0 ones.
        res.write('part one, ');
        res.end('part two');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(`${req.method} ${req.url} ${body.length}`) });
      res.end(`${req.method} ${req.url} ${body.length}`);
    });
    ({ gateway } = await gatewayFor(
      inventoryOf([{ name: 'echo', namespace: 'shop', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'echo-1', address: backend.address }] }]),
      { idleTimeoutMs: 300 },
    ));
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  test('request smuggling patterns and malformed heads are refused, and nothing goes upstream', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['length and chunked', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'bad-request'],
      ['two different lengths', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde', 400, 'bad-request'],
      ['a length list', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 4, 4\r\n\r\nabcd', 400, 'bad-request'],
      ['the same length twice', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd', 400, 'bad-request'],
      ['a target in no request-target form', 'GET x HTTP/1.1\r\nHost: echo.shop\r\n\r\n', 400, 'bad-request'],
      ['an authority-form target without CONNECT', 'GET echo.shop:80 HTTP/1.1\r\nHost: echo.shop\r\n\r\n', 400, 'bad-request'],
      ['an obsolete folded line', 'GET / HTTP/1.1\r\nHost: echo.shop\r\nX-A: one\r\n two\r\n\r\n', 400, 'bad-request'],
      ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost: echo.shop\r\nTransfer-Encoding : chunked\r\n\r\n', 400, 'bad-request'],
      ['a bare LF', 'GET / HTTP/1.1\r\nHost: echo.shop\nX-A: b\r\n\r\n', 400, 'bad-request'],
      ['a bare CR', 'GET / HTTP/1.1\r\nHost: echo.shop\r\nX-A: b\rc\r\n\r\n', 400, 'bad-request'],
      // No CRLF CRLF ever comes: refused when the bad byte arrives, as llhttp does, not left to the idle timeout.
      ['a head ended by bare LFs', 'GET / HTTP/1.1\nHost: echo.shop\n\n', 400, 'bad-request'],
      ['a head whose blank line is a bare LF', 'GET / HTTP/1.1\r\nHost: echo.shop\r\n\n', 400, 'bad-request'],
      ['a control character in a head still arriving', 'GET / HTTP/1.1\r\nHost: echo.shop\r\nX-A: \x01', 400, 'bad-request'],
      ['two Host headers', 'GET / HTTP/1.1\r\nHost: echo.shop\r\nHost: other.shop\r\n\r\n', 400, 'bad-request'],
      ['chunked in HTTP/1.0', 'POST / HTTP/1.0\r\nHost: echo.shop\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'bad-request'],
      ['an unknown transfer coding', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501, 'unsupported-transfer-encoding'],
      ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: echo.shop\r\n\r\n', 400, 'bad-request'],
      ['HTTP/2 in a request line', 'GET / HTTP/2.0\r\nHost: echo.shop\r\n\r\n', 505, 'unsupported-version'],
      ['a no-break space after a length', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 5\xa0\r\n\r\nhello', 400, 'bad-request'],
      ['a no-break space before chunked', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nTransfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n', 501, 'unsupported-transfer-encoding'],
      ['an expectation other than 100-continue', 'POST / HTTP/1.1\r\nHost: echo.shop\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx', 417, 'expectation-failed'],
    ];
    const upstreamBefore = backend.requests.length;
    for (const [label, text, status, reason] of cases) {
      const caller = new RawCaller(gateway.port).send(text);
      const r = await caller.response().catch((err: Error) => assert.fail(`${label}: ${err.message}`));
      assert.equal(r.status, status, label);
      assert.equal(r.headers['x-meshscope-error'], reason, label);
      assert.equal(r.headers.connection, 'close', label);
      assert.match(r.body, /^meshscope gateway: [^\n]+\n$/, `${label}: one-line body`);
      await caller.closed;
    }
    assert.equal(backend.requests.length, upstreamBefore, 'no refused request reached the upstream');
  });

  test('a broken chunked body resets the connection instead of reaching the upstream whole', async () => {
    const upstreamBefore = backend.requests.length;
    const bodies = [
      '4\r\nabcd\r\nzz\r\n', // not a size
      '5\n\r\nhello\r\n0\r\n\r\n', // a size ended by a bare LF
      '5\r\r\nhello\r\n0\r\n\r\n', // ... by a bare CR
      '5;a\nb\x00\r\nhello\r\n0\r\n\r\n', // control bytes in an extension
      '\xa05\x0b\r\nhello\r\n0\r\n\r\n', // what String.trim would take for whitespace
      '0\n\r\n\r\n', // a last chunk ended by a bare LF
      '1 \r\nx\r\n0\r\n\r\n', // whitespace after a size without an extension
      '1;\r\nx\r\n0\r\n\r\n', // an extension without a name
      '1;a="b\r\nx\r\n0\r\n\r\n', // an unterminated quoted value
      '1\r\nx\r\n0\r\nContent-Length: 1\r\n\r\n', // framing fields in trailers
      `1;${'x'.repeat(10_000)}\r\na\r\n1;${'x'.repeat(10_000)}\r\nb\r\n0\r\n\r\n`, // extensions past 16 KiB
    ];
    for (const body of bodies) {
      const caller = new RawCaller(gateway.port).send(`POST /broken HTTP/1.1\r\nHost: echo.shop\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
      await caller.closed;
      assert.equal(backend.requests.length, upstreamBefore, JSON.stringify(body.slice(0, 30)));
    }
  });

  test('an early answer to a small body keeps the connection; Expect: 100-continue that is refused gets no 100 and closes', async () => {
    const caller = new RawCaller(gateway.port).send('POST /x HTTP/1.1\r\nHost: nosuch.shop\r\nContent-Length: 10\r\n\r\n0123456789GET /next HTTP/1.1\r\nHost: echo.shop\r\n\r\n');
    const refused = await caller.response();
    assert.equal(refused.status, 404);
    assert.notEqual(refused.headers.connection, 'close');
    assert.equal((await caller.response()).body, 'GET /next 0', 'the rest of the body was read and dropped, not taken for a request');
    caller.socket.destroy();

    const expecting = new RawCaller(gateway.port).send('POST /x HTTP/1.1\r\nHost: nosuch.shop\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    const first = await expecting.response();
    assert.equal(first.status, 404, 'the final answer, not a 100');
    assert.equal(first.headers.connection, 'close');
    await expecting.closed;
  });

  test('a body that stops arriving is closed after the idle timeout and frees its in-flight slot', async () => {
    const caller = new RawCaller(gateway.port).send('POST /stalled HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 1000000\r\n\r\nabc');
    await waitUntil(() => gateway.metrics.inflight === 1, 'the request in flight');
    const startedAt = Date.now();
    await caller.closed;
    assert.ok(Date.now() - startedAt >= 250, 'not before the idle timeout');
    await waitUntil(() => gateway.metrics.inflight === 0, 'the slot to be freed');
  });

  test('pipelined requests are answered in order on one connection; empty lines before a request are skipped', async () => {
    const caller = new RawCaller(gateway.port).send('GET /a HTTP/1.1\r\nHost: echo.shop\r\n\r\n\r\nPOST /b HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: echo.shop\r\n\r\n');
    assert.equal((await caller.response()).body, 'GET /a 0');
    assert.equal((await caller.response()).body, 'POST /b 3');
    const third = await caller.response();
    assert.equal(third.body, 'GET /c 0');
    assert.match(third.headers['keep-alive'] ?? '', /^timeout=\d+$/);
    caller.socket.destroy();
  });

  test('HTTP/1.0: closes unless asked to keep alive; an unsized body ends with the connection', async () => {
    const once = new RawCaller(gateway.port).send('GET /once HTTP/1.0\r\nHost: echo.shop\r\n\r\n');
    const r = await once.response();
    assert.equal(r.body, 'GET /once 0');
    assert.equal(r.headers.connection, 'close');
    await once.closed;

    const kept = new RawCaller(gateway.port).send('GET /one HTTP/1.0\r\nHost: echo.shop\r\nConnection: keep-alive\r\n\r\n');
    const first = await kept.response();
    assert.equal(first.headers.connection, 'keep-alive');
    kept.send('GET /unsized HTTP/1.0\r\nHost: echo.shop\r\nConnection: keep-alive\r\n\r\n');
    const unsized = await kept.response();
    assert.equal(unsized.headers['transfer-encoding'], undefined);
    assert.equal(unsized.body, 'part one, part two');
    await kept.closed;

    const h11 = new RawCaller(gateway.port).send('GET /unsized HTTP/1.1\r\nHost: echo.shop\r\n\r\n');
    const chunked = await h11.response();
    assert.equal(chunked.headers['transfer-encoding'], 'chunked');
    assert.equal(chunked.body, 'part one, part two');
    h11.socket.destroy();
  });

  test('Expect: 100-continue gets an interim 100 before the answer', async () => {
    const caller = new RawCaller(gateway.port).send('POST /cont HTTP/1.1\r\nHost: echo.shop\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    assert.equal((await caller.response()).status, 100);
    caller.send('hello');
    const r = await caller.response();
    assert.equal(r.body, 'POST /cont 5');
    assert.equal(backend.requests.at(-1)?.headers.expect, undefined, 'expect is not passed upstream');
    caller.socket.destroy();
  });

  test('idle connections and heads that never complete are closed after the idle timeout', async () => {
    const idle = new RawCaller(gateway.port).send('GET /idle HTTP/1.1\r\nHost: echo.shop\r\n\r\n');
    assert.equal((await idle.response()).status, 200);
    const answeredAt = Date.now();
    await idle.closed;
    assert.ok(Date.now() - answeredAt >= 300, 'not before the idle timeout');

    const slow = new RawCaller(gateway.port).send('GET /slow HTTP/1.1\r\nHost: echo.shop\r\nX-Slow: ');
    const startedAt = Date.now();
    await slow.closed;
    assert.ok(Date.now() - startedAt >= 300, 'not before the idle timeout');
  });
});

describe("the gateway's HTTP/1.1 callers, with limits and streaming upstreams", () => {
  const FLOOD = 64 * 1024 * 1024;
  let streaming: Backend;
  let h2: Backend;
  let gateway: Gateway;
  /** Request heads the streaming backend saw, in order. */
  const heads: string[] = [];
  let flooded = 0;

  before(async () => {
    streaming = await h1Backend('127.0.0.162', undefined, (req, res) => {
      heads.push(`${req.method} ${req.url}`);
      req.resume();
      if (req.url === '/flood') {
        // As fast as the gateway takes it: without backpressure it would take all of it at once.
        // One small write per turn of the loop makes one small read per turn at the gateway:
        // each must carry the caller's backpressure, not only writes big enough to flush at once.
        const chunk = Buffer.alloc(8 * 1024, 120);
        const pump = () => {
          if (flooded >= FLOOD) return void res.end();
          flooded += chunk.length;
          if (res.write(chunk)) setImmediate(pump);
          else res.once('drain', pump);
        };
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(FLOOD) });
        return pump();
      }
      if (req.url === '/hold') {
        // Answers the head at once and the rest when the request ends.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('started');
        return void req.on('end', () => res.end());
      }
      // Answers at once, before any request body arrives.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(req.url ?? '')) });
      res.end(req.url);
    });
    h2 = await h2Backend('127.0.0.163');
    ({ gateway } = await gatewayFor(
      inventoryOf([
        { name: 'stream', namespace: 'shop', ports: [{ port: 80, targetPort: streaming.port }], workloads: [{ name: 'stream-1', address: streaming.address }] },
        { name: 'h2', namespace: 'shop', ports: [{ port: 80, targetPort: h2.port, protocol: 'http2' }], workloads: [{ name: 'h2-1', address: h2.address }] },
      ]),
      { maxInflight: 1, maxRequestBodyBytes: 100 },
    ));
  });

  after(async () => {
    await gateway.close();
    await Promise.all([streaming.close(), h2.close()]);
  });

  test('each pipelined request starts once the one before has finished: one in-flight slot and one upstream connection serve them all', async () => {
    const connectionsBefore = streaming.connections;
    const caller = new RawCaller(gateway.port).send(['/1', '/2', '/3', '/4', '/5'].map((p) => `GET ${p} HTTP/1.1\r\nHost: stream.shop\r\n\r\n`).join(''));
    for (const p of ['/1', '/2', '/3', '/4', '/5']) {
      const r = await caller.response();
      assert.equal(r.status, 200, `${p}: ${r.body}`);
      assert.equal(r.body, p);
    }
    assert.ok(streaming.connections - connectionsBefore <= 1, `${streaming.connections - connectionsBefore} upstream connections`);
    caller.socket.destroy();
  });

  test('a request aborted mid-body takes the pipelined request behind it down too, unsent', async () => {
    const caller = new RawCaller(gateway.port).send('POST /hold HTTP/1.1\r\nHost: stream.shop\r\nTransfer-Encoding: chunked\r\n\r\n');
    await caller.headArrived();
    // Over the body limit after the answer started: the gateway can only reset the exchange.
    caller.send(`3e8\r\n${'x'.repeat(1000)}\r\n0\r\n\r\nDELETE /second HTTP/1.1\r\nHost: stream.shop\r\n\r\n`);
    await caller.closed;
    await waitUntil(() => gateway.metrics.inflight === 0, 'the aborted request to finish');
    assert.ok(heads.includes('POST /hold'));
    assert.ok(!heads.includes('DELETE /second'), `the upstream saw ${heads.join(', ')}`);
  });

  test('repeated singleton trailers toward an HTTP/2 upstream fail that request, not the gateway', async () => {
    const caller = new RawCaller(gateway.port).send('POST / HTTP/1.1\r\nHost: h2.shop\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nUser-Agent: a\r\nUser-Agent: b\r\n\r\n');
    const r = await caller.response();
    assert.equal(r.status, 200, r.body);
    caller.socket.destroy();
    assert.equal((await new RawCaller(gateway.port).send('GET /again HTTP/1.1\r\nHost: h2.shop\r\nConnection: close\r\n\r\n').response()).status, 200);
  });

  test('a caller that does not read holds the upstream back instead of making the gateway buffer', async () => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    socket.pause();
    socket.write('GET /flood HTTP/1.1\r\nHost: stream.shop\r\n\r\n');
    // Asserting that something does not happen takes a quiet period: the upstream stops making progress.
    let last = -1;
    await waitUntil(
      () => {
        const still = flooded === last && flooded > 0;
        last = flooded;
        return still;
      },
      'the upstream to stall',
      20_000,
      { intervalMs: 300 },
    );
    assert.ok(flooded < FLOOD / 2, `the upstream wrote ${flooded} of ${FLOOD} bytes to a caller that read nothing`);
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= FLOOD) socket.destroy();
    });
    socket.resume();
    await waitUntil(() => received >= FLOOD, 'the whole body once the caller reads', 30_000);
    socket.destroy();
  });
});

describe("the gateway's HTTP/1.1 callers that stop reading, and upstreams that read late", () => {
  const BIG = 32 * 1024;
  let h1: Backend;
  let h2: Backend;
  let gateway: Gateway;
  const served: string[] = [];
  let earlyOpened = 0;
  let earlyClosed = 0;

  before(async () => {
    h1 = await h1Backend('127.0.0.164', undefined, (req, res) => {
      served.push(req.url ?? '');
      req.resume();
      if (req.url === '/huge') {
        // Streams for as long as the gateway takes it.
        const chunk = Buffer.alloc(64 * 1024, 121);
        const pump = () => {
          while (res.write(chunk));
          res.once('drain', pump);
        };
        res.writeHead(200);
        return pump();
      }
      // Answered once the request is in (a little later for /slow, so what follows queues up behind it).
      req.on('end', () =>
        setTimeout(() => {
          const body = req.url === '/big' ? Buffer.alloc(BIG, 122) : Buffer.from(`${req.method} ${req.url}`);
          res.writeHead(200, { 'content-length': String(body.length) });
          res.end(body);
        }, req.url === '/slow' ? 200 : 0),
      );
    });
    h2 = await h2Backend('127.0.0.165', (stream, headers) => {
      if (headers[':path'] === '/early') {
        earlyOpened++;
        stream.on('close', () => earlyClosed++);
        stream.on('data', () => undefined);
        stream.respond({ ':status': 401, 'content-length': '4' });
        stream.end('nope');
        return true;
      }
      if (headers[':path'] === '/late') {
        // Starts reading the upload well after the gateway's idle timeout.
        stream.pause();
        let got = 0;
        setTimeout(() => {
          stream.on('data', (c: Buffer) => (got += c.length));
          stream.on('end', () => {
            stream.respond({ ':status': 200 });
            stream.end(`got ${got}`);
          });
          stream.resume();
        }, 1_000);
        return true;
      }
      return false;
    });
    ({ gateway } = await gatewayFor(
      inventoryOf([
        { name: 'one', namespace: 'shop', ports: [{ port: 80, targetPort: h1.port }], workloads: [{ name: 'one-1', address: h1.address }] },
        { name: 'two', namespace: 'shop', ports: [{ port: 80, targetPort: h2.port, protocol: 'http2' }], workloads: [{ name: 'two-1', address: h2.address }] },
      ]),
      { idleTimeoutMs: 300 },
    ));
  });

  after(async () => {
    await gateway.close();
    await Promise.all([h1.close(), h2.close()]);
  });

  test('a caller that pipelines and does not read gets a bounded number answered, and the rest once it reads', async () => {
    const N = 600;
    const before = served.length;
    const socket = net.connect(gateway.port, '127.0.0.1');
    socket.pause();
    socket.write('GET /big HTTP/1.1\r\nHost: one.shop\r\n\r\n'.repeat(N));
    // Asserting that something does not happen takes a quiet period: the upstream stops being asked.
    let last = -1;
    await waitUntil(
      () => {
        const still = served.length === last && served.length > before;
        last = served.length;
        return still;
      },
      'the gateway to stop taking requests',
      20_000,
      { intervalMs: 300 },
    );
    assert.ok(served.length - before < N / 2, `${served.length - before} of ${N} answered to a caller that read nothing`);
    socket.on('data', () => undefined);
    socket.resume();
    await waitUntil(() => served.length - before === N, 'every request once the caller reads', 30_000);
    socket.destroy();
  });

  test('a caller that never reads its answer is closed after the idle timeout and frees its slot', async () => {
    const socket = net.connect(gateway.port, '127.0.0.1');
    socket.pause();
    socket.on('error', () => undefined);
    socket.write('GET /huge HTTP/1.1\r\nHost: one.shop\r\n\r\n');
    await waitUntil(() => served.includes('/huge') && gateway.metrics.inflight === 1, 'the answer to be under way');
    await waitUntil(() => gateway.metrics.inflight === 0, 'the stalled caller to be dropped', 10_000);
    socket.destroy();
  });

  test('an upload waits for an upstream that starts reading late, without the caller being timed out', async () => {
    const body = 'x'.repeat(1024 * 1024);
    const caller = new RawCaller(gateway.port).send(`POST /late HTTP/1.1\r\nHost: two.shop\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const r = await caller.response(10_000);
    assert.equal(r.status, 200);
    assert.equal(r.body, `got ${body.length}`);
    caller.socket.destroy();
  });

  test('an early answer to a small body, behind pipelined bytes that paused the connection, still lets the next request through', async () => {
    const CL = 65536;
    const caller = new RawCaller(gateway.port).send(`GET /slow HTTP/1.1\r\nHost: one.shop\r\n\r\nPOST /x HTTP/1.1\r\nHost: nosuch.shop\r\nContent-Length: ${CL}\r\n\r\n${'a'.repeat(CL - 36)}`);
    assert.equal((await caller.response()).body, 'GET /slow');
    const refused = await caller.response();
    assert.equal(refused.status, 404);
    assert.notEqual(refused.headers.connection, 'close');
    caller.send(`${'a'.repeat(36)}GET /next HTTP/1.1\r\nHost: one.shop\r\n\r\n`);
    assert.equal((await caller.response()).body, 'GET /next');
    caller.socket.destroy();
  });

  test('an HTTP/2 upstream stream that answered early is cancelled when its caller goes away mid-upload', async () => {
    const caller = new RawCaller(gateway.port).send('POST /early HTTP/1.1\r\nHost: two.shop\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    assert.equal((await caller.response()).status, 401);
    caller.socket.destroy();
    await waitUntil(() => earlyOpened === 1 && earlyClosed === 1, 'the upstream stream to close');
  });
});
