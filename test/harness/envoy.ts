import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ENVOY_VERSION, ensureEnvoy } from "../../install/envoy.ts";
import { ManagedProcess, makeTempDir } from "./proc.js";
import { waitUntil } from "./wait.js";

export { ENVOY_VERSION, ensureEnvoy };

/**
 * Returns the bootstrap with an admin listener on 127.0.0.1:0 when it has none.
 * An admin block the caller wrote is kept as is: give it port_value 0 so that
 * parallel Envoys never collide; startEnvoy learns the real port.
 */
export function withAdmin(bootstrapYaml: string): string {
  const doc = YAML.parse(bootstrapYaml) ?? {};
  if (doc.admin?.address) return bootstrapYaml;
  doc.admin = { ...(doc.admin ?? {}), address: { socket_address: { address: "127.0.0.1", port_value: 0 } } };
  // JSON is valid YAML and cannot be misread by Envoy's YAML 1.1 parser (y/no/on as booleans).
  return JSON.stringify(doc, null, 2);
}

export interface StartEnvoyOptions {
  /** YAML (or JSON) bootstrap. Use admin port_value 0 and listener port_value 0 where possible. */
  bootstrapYaml: string;
  name?: string;
  /** Envoy -l level; default "info" (the log goes to a file, not the test output). */
  logLevel?: string;
  /** Appended to the command line; a flag given here replaces the harness default for it. */
  extraArgs?: string[];
  /** Also wait until /ready says LIVE (off by default: an xDS bootstrap stays not-ready until its control plane answers). */
  waitReady?: boolean;
  startTimeoutMs?: number;
}

export interface AdminResponse {
  status: number;
  body: string;
}

export class EnvoyProcess {
  readonly adminUrl: string;

  constructor(
    readonly proc: ManagedProcess,
    readonly adminPort: number,
    readonly dir: string,
  ) {
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
  }

  get logFile(): string {
    return this.proc.logFile;
  }

  async request(p: string, method = "GET"): Promise<AdminResponse> {
    const res = await fetch(this.adminUrl + p, { method });
    return { status: res.status, body: await res.text() };
  }

  /** Admin GET; throws on a non-2xx answer. */
  async get(p: string): Promise<string> {
    const r = await this.request(p);
    if (r.status < 200 || r.status > 299) throw new Error(`envoy admin GET ${p}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    return r.body;
  }

  /** Admin POST (e.g. /logging?level=debug, /healthcheck/fail); throws on a non-2xx answer. */
  async post(p: string): Promise<string> {
    const r = await this.request(p, "POST");
    if (r.status < 200 || r.status > 299) throw new Error(`envoy admin POST ${p}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    return r.body;
  }

  /** /config_dump as JSON; EDS endpoints are included unless includeEds is false. */
  async configDump(opts: { includeEds?: boolean; resource?: string; mask?: string } = {}): Promise<any> {
    const q: string[] = [];
    if (opts.includeEds !== false) q.push("include_eds");
    if (opts.resource) q.push(`resource=${encodeURIComponent(opts.resource)}`);
    if (opts.mask) q.push(`mask=${encodeURIComponent(opts.mask)}`);
    return JSON.parse(await this.get(`/config_dump?${q.join("&")}`));
  }

  /** Counters and gauges by full stat name (histograms are left out). */
  async stats(filter?: string): Promise<Record<string, number>> {
    const q = filter ? `&filter=${encodeURIComponent(filter)}` : "";
    const body = JSON.parse(await this.get(`/stats?format=json${q}`)) as { stats: Array<{ name?: string; value?: number }> };
    const out: Record<string, number> = {};
    for (const s of body.stats) if (s.name !== undefined && typeof s.value === "number") out[s.name] = s.value;
    return out;
  }

  /** Bound port of each active listener, by listener name (lets bootstraps use port_value 0). */
  async listenerPorts(): Promise<Record<string, number>> {
    const body = JSON.parse(await this.get("/listeners?format=json")) as {
      listener_statuses?: Array<{ name: string; local_address?: { socket_address?: { port_value?: number } } }>;
    };
    const out: Record<string, number> = {};
    for (const l of body.listener_statuses ?? []) {
      const port = l.local_address?.socket_address?.port_value;
      if (port !== undefined) out[l.name] = port;
    }
    return out;
  }

  async ready(): Promise<boolean> {
    return (await this.request("/ready")).status === 200;
  }

  /** Polls `pred` until true; fails naming `what`, early if Envoy died, with the log tail. */
  async waitFor(pred: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
    try {
      await waitUntil(pred, what, timeoutMs, { abort: () => this.proc.deadReason() });
    } catch (err) {
      throw this.proc.failure((err as Error).message);
    }
  }

  logTail(n = 40): string {
    return this.proc.logTail(n);
  }

  async stop(): Promise<void> {
    await this.proc.stop(5_000);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function hasFlag(args: string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

let seq = 0;

export async function startEnvoy(opts: StartEnvoyOptions): Promise<EnvoyProcess> {
  const bin = await ensureEnvoy();
  const name = opts.name ?? `envoy${++seq}`;
  const dir = makeTempDir(name.replace(/[^\w.-]/g, "_"));
  const configPath = path.join(dir, "bootstrap.yaml");
  const adminPath = path.join(dir, "admin-address");
  fs.writeFileSync(configPath, withAdmin(opts.bootstrapYaml));
  const extra = opts.extraArgs ?? [];
  const defaults: Array<[string, string | undefined]> = [
    // Hot restart keys shared memory by base id; without it parallel Envoys cannot clash.
    ["--disable-hot-restart", undefined],
    // One worker keeps a 2-core CI machine usable with several Envoys up.
    ["--concurrency", "1"],
    // Removed/updated listeners otherwise linger as "draining" for 10 minutes.
    ["--drain-time-s", "1"],
    ["--log-level", opts.logLevel ?? "info"],
  ];
  const args = ["--config-path", configPath, "--admin-address-path", adminPath];
  for (const [flag, value] of defaults) {
    const alias = flag === "--log-level" ? "-l" : flag;
    if (hasFlag(extra, flag) || hasFlag(extra, alias)) continue;
    args.push(flag, ...(value === undefined ? [] : [value]));
  }
  args.push(...extra);

  const proc = new ManagedProcess(name, bin, args, path.join(dir, "envoy.log"));
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const started = Date.now();
  try {
    let adminPort = 0;
    await waitUntil(
      () => {
        const text = fs.existsSync(adminPath) ? fs.readFileSync(adminPath, "utf8").trim() : "";
        adminPort = Number(text.slice(text.lastIndexOf(":") + 1));
        return adminPort > 0;
      },
      `${name} to write its admin address`,
      timeoutMs,
      { abort: () => proc.deadReason() },
    );
    const envoy = new EnvoyProcess(proc, adminPort, dir);
    const left = () => Math.max(1_000, timeoutMs - (Date.now() - started));
    await waitUntil(async () => (await envoy.request("/server_info")).status === 200, `${name} admin /server_info`, left(), {
      abort: () => proc.deadReason(),
    });
    if (opts.waitReady) await waitUntil(() => envoy.ready(), `${name} /ready`, left(), { abort: () => proc.deadReason() });
    return envoy;
  } catch (err) {
    await proc.stop(2_000);
    const failure = proc.failure(`envoy ${name} did not start: ${(err as Error).message}\ncommand: ${bin} ${args.join(" ")}`);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    throw failure;
  }
}
