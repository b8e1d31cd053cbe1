// `meshscope bootstrap` output and `meshscope xds-server` as a process:
// input errors exit 2 naming the input, a good start serves, SIGTERM stops it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { bootstrapCommand, xdsServerCommand } from '../../xds-server/cli.ts';
import { meshYaml, svc } from './support/mesh.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshscope-xds-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const meshFile = join(dir, 'mesh.yaml');
writeFileSync(meshFile, meshYaml([svc('productpage', { port: 9080, seed: 7 })]));

/** Runs a command in-process, capturing what it writes to stderr. */
async function runCapturing(cmd: typeof bootstrapCommand, args: string[]): Promise<{ code: number; stderr: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await cmd.run(args), stderr };
  } finally {
    process.stderr.write = original;
  }
}

describe('meshscope bootstrap', () => {
  it('prints an Envoy bootstrap with the Istio node id, metadata and an HTTP/2 ADS cluster', async () => {
    const out = join(dir, 'envoy.yaml');
    const { code } = await runCapturing(bootstrapCommand, ['--workload', 'productpage-0.default', '--mesh', meshFile, '--xds', '127.0.0.1:18123', '--admin-port', '0', '-o', out]);
    assert.equal(code, 0);
    const b = YAML.parse(readFileSync(out, 'utf8'));
    assert.equal(b.node.id, 'sidecar~10.0.7.1~productpage-0.default~default.svc.cluster.local');
    assert.equal(b.node.cluster, 'productpage.default');
    assert.deepEqual(b.node.metadata, {
      NAME: 'productpage-0', NAMESPACE: 'default',
      MESH_BIND_ADDRESS: '127.0.0.1', MESH_EGRESS_PORT: '15001', MESH_INGRESS_PORT: '15006', MESH_WORKLOAD_ADDRESS: '127.0.0.1',
    });
    assert.deepEqual(b.admin.address.socket_address, { address: '127.0.0.1', port_value: 0 });
    assert.equal(b.dynamic_resources.ads_config.api_type, 'GRPC');
    assert.deepEqual(b.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
    assert.deepEqual(b.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
    const xds = b.static_resources.clusters[0];
    assert.equal(xds.name, b.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name);
    assert.deepEqual(xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 18123 });
    assert.ok(xds.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http2_protocol_options);
  });

  it('selects delta ADS with --delta and prints a gRPC bootstrap with --grpc', async () => {
    const delta = join(dir, 'delta.yaml');
    assert.equal((await runCapturing(bootstrapCommand, ['--workload', 'productpage-0.default', '--delta', '-o', delta])).code, 0);
    assert.equal(YAML.parse(readFileSync(delta, 'utf8')).dynamic_resources.ads_config.api_type, 'DELTA_GRPC');
    const grpcFile = join(dir, 'grpc.json');
    assert.equal((await runCapturing(bootstrapCommand, ['--workload', 'productpage-0.default', '--grpc', '--xds', 'xds.example:18000', '-o', grpcFile])).code, 0);
    const g = JSON.parse(readFileSync(grpcFile, 'utf8'));
    assert.deepEqual(g.xds_servers, [{ server_uri: 'xds.example:18000', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }]);
    assert.equal(g.node.id, 'sidecar~127.0.0.1~productpage-0.default~default.svc.cluster.local');
    assert.deepEqual(g.node.metadata, { NAME: 'productpage-0', NAMESPACE: 'default' });
    assert.deepEqual(g.node.locality, {});
  });

  it('exits 2 naming the input on a bad workload, address or flag', async () => {
    const unknown = await runCapturing(bootstrapCommand, ['--workload', 'productpage-1.default', '--mesh', meshFile]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--workload productpage-1\.default: no such workload in .*mesh\.yaml \(did you mean productpage-0\.default\?\)/);
    const noNs = await runCapturing(bootstrapCommand, ['--workload', 'productpage']);
    assert.equal(noNs.code, 2);
    assert.match(noNs.stderr, /expected POD\.NAMESPACE/);
    const badXds = await runCapturing(bootstrapCommand, ['--workload', 'a.default', '--xds', 'nowhere']);
    assert.equal(badXds.code, 2);
    assert.match(badXds.stderr, /--xds "nowhere": expected HOST:PORT/);
    const missing = await runCapturing(bootstrapCommand, []);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--workload POD\.NAMESPACE is required/);
  });
});

describe('meshscope xds-server', () => {
  it('exits 2 with the inventory error on a bad mesh file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: meshscope/v1\nkind: Mesh\nservices:\n  - name: Reviews\n');
    const r = await runCapturing(xdsServerCommand, ['--mesh', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:4: services\[0\]\.name: expected a DNS label/);
    const none = await runCapturing(xdsServerCommand, ['--mesh', join(dir, 'absent.yaml')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /absent\.yaml: cannot read the mesh inventory/);
    const gw = await runCapturing(xdsServerCommand, ['--mesh', meshFile, '--gateway', 'gw']);
    assert.equal(gw.code, 2);
    assert.match(gw.stderr, /--gateway "gw": expected HOST:PORT/);
    const als = await runCapturing(xdsServerCommand, ['--mesh', meshFile, '--als', 'analyzer']);
    assert.equal(als.code, 2);
    assert.match(als.stderr, /--als "analyzer": expected HOST:PORT/);
    const trusted = await runCapturing(xdsServerCommand, ['--mesh', meshFile, '--trusted-proxies', 'localhost']);
    assert.equal(trusted.code, 2);
    assert.match(trusted.stderr, /--trusted-proxies: trusted proxy "localhost": expected an IPv4 or IPv6 CIDR/);
    assert.match(xdsServerCommand.usage, /--trusted-proxies/);
  });

  it('serves until SIGTERM, then exits 0', async () => {
    const runner = `import('${new URL('../../xds-server/cli.ts', import.meta.url).href}').then(async (m) => process.exit(await m.xdsServerCommand.run(process.argv.slice(1))))`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', runner, '--', '--mesh', meshFile, '--xds-port', '0', '--gateway', '127.0.0.1:15008', '--als', '127.0.0.1:15091'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /xds-server listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      exited.then((code) => reject(new Error(`xds-server exited ${code} before listening: ${stderr}`)));
    });
    assert.ok(port > 0);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /1 services from .*mesh\.yaml, lazy scoping, gateway 127\.0\.0\.1:15008, sidecars log to 127\.0\.0\.1:15091/);
  });
});
