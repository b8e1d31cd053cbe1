// `meshscope xds-server` and `meshscope bootstrap`.
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { Command } from '../cli/command.ts';
import { INVENTORY_FLAGS, INVENTORY_USAGE, UsageError, inventoryOption, portOption } from '../cli/options.ts';
import { DEFAULT_TRUSTED_PROXIES, TrustedPeers, parseTrustedProxies, loadInventory, openInventorySource, type Inventory, type InventoryOrigin, type InventorySource } from '../contracts/index.ts';
import { closest } from '../contracts/inventory/errors.ts';
import { DEFAULT_XDS, envoyBootstrapYaml, grpcBootstrapJson } from './bootstrap.ts';
import { createXdsServer } from './index.ts';
import { parseHostPort, type HostPort } from './resources/host-port.ts';
import { SIDECAR_DEFAULTS } from './resources/sidecar-settings.ts';

const EXIT_USAGE = 2;

function usageError(command: string, err: unknown): number {
  process.stderr.write(`meshscope ${command}: ${(err as Error).message}\nRun \`meshscope ${command} --help\` for the options.\n`);
  return EXIT_USAGE;
}

function trustedPeers(text: string | undefined): TrustedPeers {
  try {
    return new TrustedPeers(text === undefined ? undefined : parseTrustedProxies(text));
  } catch (err) {
    throw new UsageError(`--trusted-proxies: ${(err as Error).message}, or 'none'`);
  }
}

function ipOption(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && isIP(value) === 0) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected an IP address such as 127.0.0.1`);
  return value;
}

function hostPort(value: string | undefined, flag: string): HostPort | undefined {
  if (value === undefined) return undefined;
  try {
    return parseHostPort(value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const XDS_SERVER_USAGE = `Usage: meshscope xds-server --mesh FILE | --kubeconfig FILE [options]

Runs the xDS control plane: Envoy sidecars (ADS, state-of-the-world and
delta) get the services in their scope plus a catch-all route to the lazy
gateway; proxyless gRPC clients (xds:///name) get what they ask for.
Edits to the mesh file (or the cluster) apply without a restart; a bad edit
is reported and the last good version kept.

Options:
${INVENTORY_USAGE}
  --xds-port PORT      ADS port (default 18000; 0 picks a free one)
  --host ADDR          address to listen on (default 127.0.0.1; 0.0.0.0 to
                       serve proxies on other hosts)
  --gateway HOST:PORT  the lazy gateway that out-of-scope calls go to
                       (without it they are answered 503)
  --als HOST:PORT      the analyzer's gRPC Access Log Service: sidecars
                       stream every egress request to it, so dependencies
                       that are now called directly stay in scope
  --no-lazy            push every proxy the whole mesh (the baseline)
  --trusted-proxies C  CIDRs whose node ids are believed from any address
                       (default ${DEFAULT_TRUSTED_PROXIES.join(',')}; 'none'); any other
                       peer must be the inventory workload its node id names
  -h, --help           this text

Prints "xds-server listening on HOST:PORT" on stdout once serving; stops
cleanly on SIGINT or SIGTERM.`;

export const xdsServerCommand: Command = {
  name: 'xds-server',
  summary: 'serve scoped xDS configuration to Envoy sidecars and proxyless gRPC clients',
  usage: XDS_SERVER_USAGE,
  async run(argv) {
    let opts: { origin: InventoryOrigin; port: number; host: string; gateway?: HostPort; als?: HostPort; lazy: boolean; trusted: TrustedPeers };
    let inventory: InventorySource;
    try {
      const { values } = parseArgs({
        args: argv,
        options: {
          ...INVENTORY_FLAGS,
          'xds-port': { type: 'string' },
          host: { type: 'string' },
          gateway: { type: 'string' },
          als: { type: 'string' },
          'no-lazy': { type: 'boolean' },
          'trusted-proxies': { type: 'string' },
        },
        strict: true,
        allowPositionals: false,
      });
      opts = {
        origin: inventoryOption(values),
        port: portOption(values['xds-port'], '--xds-port', DEFAULT_XDS.port),
        host: values.host ?? '127.0.0.1',
        gateway: hostPort(values.gateway, '--gateway'),
        als: hostPort(values.als, '--als'),
        lazy: !values['no-lazy'],
        trusted: trustedPeers(values['trusted-proxies']),
      };
      if (isIP(opts.host) === 0 && opts.host !== 'localhost') throw new UsageError(`--host ${JSON.stringify(opts.host)}: expected an IP address to listen on`);
      inventory = await openInventorySource(opts.origin, (line) => process.stderr.write(`${line}\n`));
    } catch (err) {
      return usageError('xds-server', err);
    }

    let server;
    try {
      server = await createXdsServer({
        inventory,
        gatewayAddress: opts.gateway,
        accessLogService: opts.als,
        lazy: opts.lazy,
        port: opts.port,
        host: opts.host,
        trustedPeers: opts.trusted,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    } catch (err) {
      return usageError('xds-server', err);
    }
    // Listen for signals before announcing: whoever reads the announcement may signal at once.
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      const stop = (s: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve(s);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    const inv = inventory.current;
    process.stdout.write(`xds-server listening on ${opts.host}:${server.port}\n`);
    process.stderr.write(
      `meshscope xds-server: ${inv.services.length} services from ${inventory.origin}, ${opts.lazy ? 'lazy scoping' : 'whole mesh to every proxy (--no-lazy)'}, ` +
        `${opts.gateway ? `gateway ${opts.gateway.host}:${opts.gateway.port}` : 'no gateway (out-of-scope calls get 503)'}, ` +
        `${opts.als ? `sidecars log to ${opts.als.host}:${opts.als.port}` : 'no access log service (--als)'}\n`,
    );

    const signal = await stopped;
    process.stderr.write(`meshscope xds-server: ${signal}, closing ${server.proxies().length} proxy connections\n`);
    await inventory.close();
    await server.close();
    return 0;
  },
};

const BOOTSTRAP_USAGE = `Usage: meshscope bootstrap --workload POD.NS [options]

Prints a bootstrap that connects a workload to the meshscope xDS server:
Envoy sidecar YAML by default, or with --grpc the JSON a proxyless gRPC
client reads from GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG.

Options:
  --workload POD.NS      the workload the proxy runs for, required
  --xds HOST:PORT        the xDS server (default ${DEFAULT_XDS.host}:${DEFAULT_XDS.port})
  --grpc                 a gRPC xDS bootstrap (JSON) instead of Envoy's
  --delta                Envoy: incremental ADS (DELTA_GRPC) instead of
                         state-of-the-world
  --mesh FILE            check that the workload is in this mesh.yaml and take
                         its pod IP, service and cluster domain from it
  --ip IP                pod IP for the node id (default: from --mesh, else
                         127.0.0.1)
  --admin-port PORT      Envoy admin on 127.0.0.1 (default 15000; 0 = any free)
  --egress-port PORT     where applications send outbound calls (default ${SIDECAR_DEFAULTS.egressPort})
  --ingress-port PORT    inbound listener (default ${SIDECAR_DEFAULTS.ingressPort})
  --bind-address IP      address both listeners bind (default ${SIDECAR_DEFAULTS.bindAddress})
  --workload-address IP  where the ingress reaches the workload (default ${SIDECAR_DEFAULTS.workloadAddress})
  -o, --output FILE      write the bootstrap to FILE instead of stdout
  -h, --help             this text

Applications reach services through the egress port: use it as their HTTP
proxy (HTTP_PROXY=http://127.0.0.1:${SIDECAR_DEFAULTS.egressPort}) or send the service's name as Host.`;

export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: 'print an Envoy or gRPC xDS bootstrap for a workload',
  usage: BOOTSTRAP_USAGE,
  async run(argv) {
    let text: string;
    let output: string | undefined;
    try {
      const { values } = parseArgs({
        args: argv,
        options: {
          workload: { type: 'string' },
          xds: { type: 'string' },
          grpc: { type: 'boolean' },
          delta: { type: 'boolean' },
          mesh: { type: 'string' },
          ip: { type: 'string' },
          'admin-port': { type: 'string' },
          'egress-port': { type: 'string' },
          'ingress-port': { type: 'string' },
          'bind-address': { type: 'string' },
          'workload-address': { type: 'string' },
          output: { type: 'string', short: 'o' },
        },
        strict: true,
        allowPositionals: false,
      });
      if (!values.workload) throw new UsageError('--workload POD.NAMESPACE is required (e.g. productpage-v1-6b746f74dc-9stvs.default)');
      if (values.grpc && values.delta) throw new UsageError('--delta applies to Envoy bootstraps; gRPC clients choose their own ADS flavour');
      const inventory = values.mesh ? loadMesh(values.mesh) : undefined;
      const workload = inventory ? findWorkload(inventory, values.workload, values.mesh!) : undefined;
      const common = {
        workload: values.workload,
        xds: hostPort(values.xds, '--xds') ?? DEFAULT_XDS,
        ip: ipOption(values.ip, '--ip') ?? workload?.address,
        cluster: workload?.service,
        clusterDomain: inventory?.clusterDomain,
      };
      text = values.grpc
        ? grpcBootstrapJson(common)
        : envoyBootstrapYaml({
            ...common,
            delta: values.delta ?? false,
            adminPort: portOption(values['admin-port'], '--admin-port', 15000),
            egressPort: portOption(values['egress-port'], '--egress-port', SIDECAR_DEFAULTS.egressPort),
            ingressPort: portOption(values['ingress-port'], '--ingress-port', SIDECAR_DEFAULTS.ingressPort),
            bindAddress: ipOption(values['bind-address'], '--bind-address'),
            workloadAddress: ipOption(values['workload-address'], '--workload-address'),
          });
      output = values.output;
    } catch (err) {
      return usageError('bootstrap', err);
    }
    if (output) writeFileSync(output, text);
    else process.stdout.write(text);
    return 0;
  },
};

function loadMesh(file: string): Inventory {
  try {
    return loadInventory(file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function findWorkload(inventory: Inventory, id: string, file: string) {
  const w = inventory.workload(id);
  if (w) return w;
  const hint = closest(id, [...inventory.workloads()].map((x) => x.id));
  throw new UsageError(`--workload ${id}: no such workload in ${file}${hint ? ` (did you mean ${hint}?)` : ''}; workloads are POD.NAMESPACE`);
}

/** The dispatcher's convention: one `command` per component; the xDS server has two. */
export const command = xdsServerCommand;
export const commands: Command[] = [xdsServerCommand, bootstrapCommand];
