// A process of its own that serves a backend and calls through a gateway back
// to back, so a test can block its own event loop (and an in-process analyzer's)
// while calls keep being timed. Driven over the fork IPC channel:
//   ← { backend: PORT }                          once listening on ADDRESS (argv[2])
//   → { start: { port, host, source } }           begin calling http://127.0.0.1:port/ with those headers
//   ← { first: true }                             after the first call answered 200
//   → { stop: true }  ← { calls: [[startedAtMs, ms, status], ...] }
import http from 'node:http';

const address = process.argv[2];
const backend = http.createServer((req, res) => res.end('ok'));
backend.listen(0, address, () => process.send({ backend: backend.address().port }));

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let stopping = false;
const calls = [];

function call(port, headers) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/probe', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve([performance.timeOrigin + t0, performance.now() - t0, res.statusCode]));
    });
    req.on('error', () => resolve([performance.timeOrigin + t0, performance.now() - t0, 0]));
  });
}

process.on('message', async (m) => {
  if (m.stop) {
    stopping = true;
    return;
  }
  if (!m.start) return;
  const { port, host, source } = m.start;
  let told = false;
  while (!stopping) {
    const c = await call(port, { host, 'x-meshscope-source': source });
    calls.push(c);
    if (!told && c[2] === 200) {
      told = true;
      process.send({ first: true });
    }
  }
  process.send({ calls }, () => process.exit(0));
});
