// `meshscope analyzer` argument handling: defaults, every usage error named
// with its fix (exit 2), and a bad --mesh reported before anything listens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { command, parseAnalyzerArgs } from '../../analyzer/cli.ts';

async function runCapturing(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await command.run(argv), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('meshscope analyzer (command line)', () => {
  it('has the documented defaults', () => {
    const o = parseAnalyzerArgs(['--mesh', 'm.yaml', '--data', 'd'], {});
    assert.deepEqual(o, {
      mesh: 'm.yaml',
      data: 'd',
      host: '127.0.0.1',
      httpPort: 15090,
      alsPort: 15091,
      xdsPort: 18000,
      kafka: undefined,
      topic: undefined,
      group: undefined,
      gateway: undefined,
      dependencyTtlMs: 7 * 86_400_000,
      lazy: true,
      adminToken: undefined,
    });
  });

  it('reads every option, and the admin token from the environment', () => {
    const o = parseAnalyzerArgs(
      ['--mesh', 'm', '--data', 'd', '--kafka', 'k1:9092,k2:9093', '--topic', 't', '--group', 'g', '--gateway', 'gw:15008', '--dependency-ttl', '36h', '--no-lazy', '--http-port', '0'],
      { MESHSCOPE_ADMIN_TOKEN: 'from-env' },
    );
    assert.deepEqual(o.kafka, ['k1:9092', 'k2:9093']);
    assert.equal(o.topic, 't');
    assert.equal(o.group, 'g');
    assert.equal(o.gateway, 'gw:15008');
    assert.equal(o.dependencyTtlMs, 36 * 3_600_000);
    assert.equal(o.lazy, false);
    assert.equal(o.httpPort, 0);
    assert.equal(o.adminToken, 'from-env');
    assert.equal(parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--admin-token', 'flag'], { MESHSCOPE_ADMIN_TOKEN: 'env' }).adminToken, 'flag');
    const w = parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--listen', '0.0.0.0', '--allow-open-writes', '--trusted-proxies', '10.0.0.0/8'], { MESHSCOPE_INGEST_TOKEN: 'in' });
    assert.deepEqual([w.host, w.allowOpenWrites, w.trustedProxies, w.ingestToken], ['0.0.0.0', true, ['10.0.0.0/8'], 'in']);
  });

  it('refuses to listen beyond loopback with open writes, naming the flags', async () => {
    const argv = ['--mesh', '/nonexistent/mesh.yaml', '--data', '/tmp/meshscope-cli-unused', '--http-port', '0', '--als-port', '0', '--xds-port', '0', '--listen', '0.0.0.0'];
    const r = await runCapturing(argv);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen 0\.0\.0\.0 makes the API reachable beyond loopback.*pin and rule writes \(no --admin-token.*access-log posts \(no --ingest-token.*--allow-open-writes/);
    const admin = await runCapturing([...argv, '--admin-token', 'a']);
    assert.match(admin.stderr, /anyone could send access-log posts \(no --ingest-token/);
    // With both tokens (or the explicit opt-in), it gets as far as reading the mesh.
    for (const extra of [['--admin-token', 'a', '--ingest-token', 'i'], ['--allow-open-writes']]) {
      assert.match((await runCapturing([...argv, ...extra])).stderr, /cannot read the mesh inventory/);
    }
  });

  it('runs the gateway in-process only when asked, with its admin port defaulting to 15081', () => {
    const o = parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--gateway-port', '0', '--advertise', '10.0.0.7'], {});
    assert.equal(o.gatewayPort, 0);
    assert.equal(o.gatewayAdminPort, 15081);
    assert.equal(o.advertise, '10.0.0.7');
    const both = parseAnalyzerArgs(['--mesh', 'm', '--data', 'd', '--gateway-port', '15080', '--gateway-admin-port', '0', '--gateway', 'gw.example:80'], {});
    assert.deepEqual([both.gatewayPort, both.gatewayAdminPort, both.gateway], [15080, 0, 'gw.example:80']);
  });

  for (const [argv, message] of [
    [['--data', 'd'], /--mesh FILE is required/],
    [['--mesh', 'm'], /--data DIR is required/],
    [['--mesh', 'm', '--data', 'd', '--kafka', 'no-port'], /--kafka: "no-port" is not HOST:PORT/],
    [['--mesh', 'm', '--data', 'd', '--dependency-ttl', 'forever'], /--dependency-ttl: "forever" is not a duration/],
    [['--mesh', 'm', '--data', 'd', '--http-port', '99999'], /--http-port "99999": expected a port number 0-65535/],
    [['--mesh', 'm', '--data', 'd', '--topic', 't'], /--topic and --group need --kafka/],
    [['--mesh', 'm', '--data', 'd', '--gateway-port', 'x'], /--gateway-port "x": expected a port number 0-65535/],
    [['--mesh', 'm', '--data', 'd', '--gateway-admin-port', '0'], /--gateway-admin-port needs --gateway-port/],
    [['--mesh', 'm', '--data', 'd', '--colour', 'blue'], /Unknown option '--colour'.*--help/],
    [['--mesh', 'm', '--data', 'd', '--admin-token', ''], /--admin-token is empty.*leave the flag out/],
    [['--mesh', 'm', '--data', 'd', '--admin-token', ' '], /--admin-token is empty/],
    [['--mesh', 'm', '--data', 'd', '--ingest-token', ''], /--ingest-token is empty/],
    [['--mesh', 'm', '--data', 'd', '--trusted-proxies', '10.0.0.0/33'], /--trusted-proxies: trusted proxy "10.0.0.0\/33": expected an IPv4 or IPv6 CIDR.*or 'none'/],
  ] as Array<[string[], RegExp]>) {
    it(`exits 2 on ${argv.join(' ')}`, async () => {
      const r = await runCapturing(argv);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
    });
  }

  it('names an unreadable mesh file and the flag to fix it', async () => {
    const r = await runCapturing(['--mesh', '/nonexistent/mesh.yaml', '--data', '/tmp/meshscope-cli-unused', '--http-port', '0', '--als-port', '0', '--xds-port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/nonexistent\/mesh\.yaml: cannot read the mesh inventory \(ENOENT\); pass --mesh FILE/);
  });

  it('documents every option in --help', () => {
    for (const flag of ['--mesh', '--data', '--http-port', '--als-port', '--kafka', '--topic', '--group', '--xds-port', '--gateway', '--gateway-port', '--gateway-admin-port', '--advertise', '--admin-token', '--dependency-ttl', '--no-lazy', '--listen', '--ingest-token', '--allow-open-writes', '--trusted-proxies']) {
      assert.ok(command.usage.includes(flag), `${flag} in --help`);
    }
    assert.equal(command.name, 'analyzer');
  });
});
