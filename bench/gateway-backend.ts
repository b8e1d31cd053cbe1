// The benchmark's upstream: a minimal keep-alive HTTP/1.1 server in its own
// process, so the proxy under test and the backend do not share an event loop.
import http from 'node:http';

const [address = '127.0.0.2', portArg = '0'] = process.argv.slice(2);
const body = Buffer.from('{"ok":true,"service":"bench"}');
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 120_000;
server.listen(Number(portArg), address, () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
