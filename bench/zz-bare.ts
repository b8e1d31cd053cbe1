import http from 'node:http';
import { Pool } from 'undici';
const pool = new Pool('http://127.0.0.2:18090', { connections: null, pipelining: 1 });
const mode = process.argv[2];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
http.createServer((req, res) => {
  if (mode === 'static') { res.writeHead(200, {'content-length': 2}); res.end('ok'); return; }
  if (mode === 'node') {
    const up = http.request({ host: '127.0.0.2', port: 18090, path: req.url, method: req.method, headers: { host: 'x' }, agent }, (r) => { res.writeHead(r.statusCode!, r.rawHeaders); r.pipe(res); });
    up.end(); return;
  }
  let status = 0;
  pool.dispatch({ path: req.url!, method: 'GET', headers: ['host', 'x'] }, {
    onConnect() {}, onHeaders(s: number, raw: Buffer[]) { status = s; const h: string[] = []; for (let i = 0; i < raw.length; i += 2) h.push(raw[i].toString(), raw[i+1].toString()); res.writeHead(s, h); return true; },
    onData(c: Buffer) { res.write(c); return true; }, onComplete() { res.end(); }, onError(e: Error) { res.destroy(); },
  } as any);
}).listen(18081, '127.0.0.1', () => console.log('ready'));
