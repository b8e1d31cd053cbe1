// The application of a test pod: a small real server (HTTP/1.1 on PORT,
// prior-knowledge h2c on H2_PORT, gRPC on GRPC_PORT) that calls its
// dependencies on every request, as bookinfo's services do, and can be told to
// make one outbound call (/call) so a test can drive a pod's traffic from
// inside it.
//
// Env: PORT, H2_PORT and GRPC_PORT (optional), DEPS (comma-separated URLs
// called on every request to any path but /call and /healthz, and on every
// gRPC call; `grpc://host:port/x` ones over gRPC), POD_NAME, POD_NAMESPACE.
import http from 'node:http';
import http2 from 'node:http2';
import grpc from '@grpc/grpc-js';

const pod = `${process.env.POD_NAME}.${process.env.POD_NAMESPACE}`;
const deps = (process.env.DEPS ?? '').split(',').filter(Boolean);

// Generic unary method: bytes in, bytes out (no .proto needed on either side).
const ECHO = {
  path: '/meshscope.test.Echo/Call',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};

function describe(req, protocol) {
  return {
    pod,
    protocol,
    method: req.method ?? 'POST',
    path: req.url,
    authority: req.headers[':authority'] ?? req.headers.host,
    xfcc: req.headers['x-forwarded-client-cert'] ?? null,
  };
}

/** One outbound call; resolves to {status, body} and never throws (failures are answers too). */
async function call(url, protocol) {
  const u = new URL(url);
  try {
    if (protocol === 'grpc') {
      const Client = grpc.makeGenericClientConstructor({ call: ECHO }, 'Echo');
      const client = new Client(`${u.hostname}:${u.port}`, grpc.credentials.createInsecure());
      try {
        const body = await new Promise((resolve, reject) =>
          client.call(Buffer.from(u.pathname), { deadline: Date.now() + 15_000 }, (err, res) => (err ? reject(err) : resolve(res))),
        );
        return { status: 200, body: JSON.parse(body.toString()) };
      } catch (err) {
        return { status: 0, grpcCode: err.code, error: err.details ?? err.message };
      } finally {
        client.close();
      }
    }
    if (protocol === 'h2c') {
      const session = http2.connect(`http://${u.host}`);
      try {
        return await new Promise((resolve, reject) => {
          session.on('error', reject);
          const req = session.request({ ':path': u.pathname + u.search, ':method': 'GET' });
          let status = 0;
          let data = '';
          req.on('response', (h) => (status = h[':status']));
          req.on('data', (d) => (data += d));
          req.on('end', () => resolve({ status, body: parse(data) }));
          req.on('error', reject);
          req.setTimeout(15_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
          req.end();
        });
      } finally {
        session.close();
      }
    }
    const res = await new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, timeout: 15_000 }, (r) => {
        let data = '';
        r.on('data', (d) => (data += d));
        r.on('end', () => resolve({ status: r.statusCode, body: parse(data), headers: r.headers }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
    return { status: res.status, body: res.body, error: res.headers['x-meshscope-error'] };
  } catch (err) {
    return { status: 0, error: err.message };
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function callDeps() {
  const calls = [];
  for (const d of deps) calls.push({ url: d, ...(await call(d, d.startsWith('grpc://') ? 'grpc' : 'http')) });
  return calls;
}

async function handle(req, res, protocol) {
  const url = new URL(req.url, 'http://x');
  let out;
  if (url.pathname === '/healthz') {
    out = { ok: true };
  } else if (url.pathname === '/call') {
    out = await call(url.searchParams.get('url'), url.searchParams.get('protocol') ?? 'http');
  } else {
    out = { ...describe(req, protocol), calls: await callDeps() };
  }
  const body = JSON.stringify(out);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

http.createServer((req, res) => void handle(req, res, 'http/1.1')).listen(Number(process.env.PORT ?? 9080), '0.0.0.0');
if (process.env.H2_PORT) {
  http2.createServer((req, res) => void handle(req, res, 'h2c')).listen(Number(process.env.H2_PORT), '0.0.0.0');
}

if (process.env.GRPC_PORT) {
  const g = new grpc.Server();
  g.addService({ call: ECHO }, {
    call: (c, cb) =>
      void callDeps().then((calls) =>
        cb(null, Buffer.from(JSON.stringify({ pod, protocol: 'grpc', path: c.request.toString(), xfcc: c.metadata.get('x-forwarded-client-cert')[0] ?? null, calls }))),
      ),
  });
  g.bindAsync(`0.0.0.0:${process.env.GRPC_PORT}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
  });
}
