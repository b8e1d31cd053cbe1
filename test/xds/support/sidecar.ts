// A real Envoy sidecar started from the bootstrap `meshscope bootstrap` prints.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapCommand } from '../../../xds-server/cli.ts';
import { startEnvoy, type EnvoyProcess } from '../../harness/envoy.ts';

export interface SidecarOptions {
  workload: string;
  xdsPort: number;
  delta?: boolean;
  mesh?: string;
  workloadAddress?: string;
}

/** Runs the bootstrap command (listeners and admin on port 0) and starts Envoy with its output. */
export async function startSidecar(opts: SidecarOptions): Promise<EnvoyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-bootstrap-'));
  const file = join(dir, 'envoy.yaml');
  try {
    const args = ['--workload', opts.workload, '--xds', `127.0.0.1:${opts.xdsPort}`, '--admin-port', '0', '--egress-port', '0', '--ingress-port', '0', '-o', file];
    if (opts.delta) args.push('--delta');
    if (opts.mesh) args.push('--mesh', opts.mesh);
    if (opts.workloadAddress) args.push('--workload-address', opts.workloadAddress);
    const code = await bootstrapCommand.run(args);
    if (code !== 0) throw new Error(`meshscope bootstrap ${args.join(' ')} exited ${code}`);
    return await startEnvoy({ bootstrapYaml: readFileSync(file, 'utf8'), name: opts.workload.split('.')[0] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bound port of one of the sidecar's listeners, once it is active. */
export async function listenerPort(envoy: EnvoyProcess, name: string): Promise<number> {
  let port = 0;
  await envoy.waitFor(async () => {
    port = (await envoy.listenerPorts())[name] ?? 0;
    return port > 0;
  }, `listener ${name} to be active`);
  return port;
}

function dumpOf(dump: any, kind: string): any {
  return dump.configs.find((c: any) => String(c['@type']).endsWith(`.${kind}`)) ?? {};
}

export interface SidecarConfig {
  clusters: { name: string; version: string }[];
  routes: { config: any; version: string }[];
  listeners: { name: string; version: string }[];
  /** EDS and static load assignments by cluster, as `ip:port` lists. */
  endpoints: { name: string; addresses: string[] }[];
  /** Virtual host names of the outbound route configuration. */
  virtualHosts: string[];
}

/** What the sidecar holds, from /config_dump. */
export async function sidecarConfig(envoy: EnvoyProcess): Promise<SidecarConfig> {
  const dump = await envoy.configDump();
  const clusters = (dumpOf(dump, 'ClustersConfigDump').dynamic_active_clusters ?? []).map((c: any) => ({ name: c.cluster.name as string, version: c.version_info as string }));
  const routes = (dumpOf(dump, 'RoutesConfigDump').dynamic_route_configs ?? []).map((r: any) => ({ config: r.route_config, version: r.version_info as string }));
  const listeners = (dumpOf(dump, 'ListenersConfigDump').dynamic_listeners ?? []).map((l: any) => ({ name: l.name as string, version: l.active_state?.version_info as string }));
  const endpoints = (dumpOf(dump, 'EndpointsConfigDump').dynamic_endpoint_configs ?? []).map((e: any) => ({
    name: e.endpoint_config.cluster_name as string,
    addresses: (e.endpoint_config.endpoints ?? []).flatMap((l: any) => (l.lb_endpoints ?? []).map((x: any) => `${x.endpoint.address.socket_address.address}:${x.endpoint.address.socket_address.port_value}`)).sort(),
  }));
  const outbound = routes.find((r: any) => r.config.name === 'outbound');
  const virtualHosts: string[] = (outbound?.config.virtual_hosts ?? []).map((vh: any) => vh.name);
  return { clusters, routes, listeners, endpoints, virtualHosts };
}

/** Sum of every xDS `update_rejected` counter (CDS, LDS, RDS, EDS). */
export async function rejectedUpdates(envoy: EnvoyProcess): Promise<Record<string, number>> {
  const stats = await envoy.stats('update_rejected');
  return Object.fromEntries(Object.entries(stats).filter(([k, v]) => k.endsWith('.update_rejected') && v > 0));
}
