// Real HTTP servers on loopback: backends that say who they are, and a
// stand-in for the lazy gateway that records what reached it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  host?: string;
  path?: string;
  headers: http.IncomingHttpHeaders;
}

export interface HttpBackend {
  name: string;
  address: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** Answers every request with `{ backend: name, host }` and remembers it. */
export function startHttpBackend(name: string, address = '127.0.0.1', port = 0): Promise<HttpBackend> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    received.push({ host: req.headers.host, path: req.url, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ backend: name, host: req.headers.host }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({
        name,
        address,
        port: bound,
        received,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}

/** An HTTP/1.1 request through a proxy listener with an explicit Host; resolves to status and parsed body. */
export async function requestVia(port: number, host: string, path = '/', address = '127.0.0.1'): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Envoy's own answers (503, 404) are plain text.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
