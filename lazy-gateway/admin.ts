// The admin port: Prometheus metrics and the probes an orchestrator polls.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export function startAdmin(port: number, host: string, metrics: Metrics, ready: () => boolean): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD are served here\n');
    if (path === '/metrics') return send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    if (path === '/healthz') return send(res, 200, 'ok\n');
    if (path === '/readyz') return ready() ? send(res, 200, 'ready\n') : send(res, 503, 'draining\n');
    send(res, 404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
