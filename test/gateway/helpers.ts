// Real backends, a mesh inventory that points at them, and a gateway in front.
// Workloads live on distinct loopback addresses (127.0.0.x) so the gateway can
// tell callers apart by client IP, as it does pods.
import { spawn } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Client } from 'undici';
import type { AccessLogRecord, AccessLogSink } from '../../contracts/access-log.ts';
import { Inventory, parseMesh } from '../../contracts/inventory/index.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../../lazy-gateway/index.ts';
import { waitUntil } from '../harness/wait.ts';

export interface Backend {
  port: number;
  address: string;
  /** TCP connections the backend accepted: proves upstream keep-alive reuse. */
  connections: number;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; bytes: number }>;
  close(): Promise<void>;
}

export type H1Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/**
 * An HTTP/1.1 backend; the default handler echoes what it got. A `streaming`
 * handler runs as soon as the head arrives, with the body still to come.
 */
export async function h1Backend(
  address: string,
  handler?: H1Handler,
  streaming?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  port = 0,
): Promise<Backend> {
  const sockets = new Set<Socket>();
  const backend: Backend = { port: 0, address, connections: 0, requests: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (streaming) return streaming(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      backend.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: body.length });
      if (handler) return handler(req, res, body);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': address });
      res.end(`${address} ${req.method} ${req.url} ${body.length}`);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    backend.connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  backend.port = (server.address() as AddressInfo).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return backend;
}

/**
 * Backends on several addresses sharing one port, as pods of a service share
 * its targetPort. The port is free on the first address; on the others it
 * usually is too, and a clash just picks again.
 */
export async function h1Replicas(addresses: string[], handler?: H1Handler): Promise<Backend[]> {
  for (let attempt = 0; ; attempt++) {
    const first = await h1Backend(addresses[0], handler);
    const rest: Backend[] = [];
    try {
      for (const a of addresses.slice(1)) rest.push(await h1Backend(a, handler, undefined, first.port));
      return [first, ...rest];
    } catch (err) {
      await Promise.all([first, ...rest].map((b) => b.close()));
      if (attempt > 10) throw err;
    }
  }
}

/** A port on `address` that nothing listens on: connecting to it is refused. */
export async function deadPort(address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, address);
    s.once('connect', () => {
      s.destroy();
      reject(new Error(`${address}:${port} unexpectedly accepts connections`));
    });
    s.once('error', () => resolve());
  });
}

/**
 * An endpoint that black-holes SYNs, as a vanished pod or a partition does: a
 * listening socket (python3, which can listen without accepting) with a
 * backlog of 0 that one idle connection fills; the kernel then drops every
 * further SYN, so a connect hangs instead of being refused.
 */
export async function blackHole(address: string): Promise<{ port: number; close: () => Promise<void> }> {
  const script = [
    'import socket, sys',
    's = socket.socket(); s.bind((sys.argv[1], 0)); s.listen(0)',
    'f = socket.create_connection(s.getsockname())',
    'print(s.getsockname()[1], flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', script, address], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`python3 is needed for a SYN black hole: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`the black-hole listener exited (${code})`)));
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  // Proof it black-holes: a connect neither succeeds nor is refused within a while.
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, address);
    const timer = setTimeout(() => {
      s.destroy();
      resolve();
    }, 300);
    s.once('connect', () => reject(new Error(`${address}:${port} accepted a connection: not a black hole`)));
    s.once('error', (err) => reject(new Error(`${address}:${port}: ${err.message}: not a black hole`)));
    s.once('close', () => clearTimeout(timer));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** A cleartext HTTP/2 backend that echoes; `handler` may take over a stream. */
export async function h2Backend(address: string, handler?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean): Promise<Backend> {
  const backend: Backend = { port: 0, address, connections: 0, requests: [], close: async () => undefined };
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    backend.connections++;
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (handler?.(stream, headers)) return;
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      backend.requests.push({ method: String(headers[':method']), url: String(headers[':path']), headers: headers as http.IncomingHttpHeaders, bytes: body.length });
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-backend': address }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'done' }));
      stream.end(`${address} ${headers[':method']} ${headers[':path']} ${body.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sessions) s.destroy();
    });
  return backend;
}

export interface MeshService {
  name: string;
  namespace?: string;
  clusterIP?: string;
  ports: Array<{ port: number; targetPort?: number; protocol?: string }>;
  workloads: Array<{ name: string; address: string }>;
}

export function meshYaml(services: MeshService[]): string {
  return `apiVersion: meshscope/v1\nkind: Mesh\nservices: ${JSON.stringify(services)}\n`;
}

export function inventoryOf(services: MeshService[]): Inventory {
  return new Inventory(parseMesh(meshYaml(services), 'test-mesh.yaml'));
}

/** A sink that keeps every record, and can be made to fail. */
export class MemorySink implements AccessLogSink {
  records: AccessLogRecord[] = [];
  down = false;
  async send(records: readonly AccessLogRecord[]): Promise<void> {
    if (this.down) throw new Error('sink is down (test)');
    this.records.push(...records);
  }

  async waitFor(pred: (r: AccessLogRecord) => boolean, what: string, count = 1): Promise<AccessLogRecord[]> {
    let found: AccessLogRecord[] = [];
    await waitUntil(() => (found = this.records.filter(pred)).length >= count, what, 10_000);
    return found;
  }
}

export async function gatewayFor(inventory: Inventory, options: Partial<GatewayOptions> = {}): Promise<{ gateway: Gateway; sink: MemorySink }> {
  const sink = new MemorySink();
  const gateway = await startGateway({ inventory, port: 0, adminPort: 0, host: '127.0.0.1', sink, log: () => undefined, ...options });
  return { gateway, sink };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

/** One HTTP/1.1 request with a chosen Host and client address, on a fresh or given agent. */
export function h1Request(
  port: number,
  opts: { host?: string; path?: string; method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; localAddress?: string; agent?: http.Agent },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
        localAddress: opts.localAddress,
        agent: opts.agent ?? false,
        setHost: !opts.host,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), trailers: res.trailers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** An undici client bound to the gateway: one keep-alive connection. */
export function gatewayClient(port: number): Client {
  return new Client(`http://127.0.0.1:${port}`, { pipelining: 1 });
}

export async function metricsText(gateway: Gateway): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${gateway.adminPort}/metrics`);
  return res.text();
}
