// The connection to the API server: a kubeconfig file, or the pod's own
// service-account credentials when meshscope runs in the cluster. Lists are
// plain GETs parsed as JSON (no typed models: at 50k pods the typed client's
// deserialization costs seconds); watches use the official client's Watch.
import http from 'node:http';
import https from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';

export interface KubeConnection {
  readonly config: KubeConfig;
  /** The API server URL, for logs. */
  readonly server: string;
  getJson(path: string): Promise<unknown>;
  watch: Watch;
}

/** `file` given: that kubeconfig; else in-cluster credentials (KUBERNETES_SERVICE_HOST must be set). */
export function connect(file?: string): KubeConnection {
  const config = new KubeConfig();
  if (file) {
    try {
      config.loadFromFile(file);
    } catch (err) {
      throw new Error(`--kubeconfig ${file}: cannot read the kubeconfig (${(err as Error).message}); pass a kubeconfig file such as ~/.kube/config`);
    }
  } else {
    if (!process.env.KUBERNETES_SERVICE_HOST) {
      throw new Error('no --kubeconfig FILE and not running in a pod (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig FILE');
    }
    config.loadFromCluster();
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`${file ?? 'in-cluster config'}: no current cluster; set current-context in the kubeconfig`);
  const server = cluster.server.replace(/\/$/, '');
  let agent: http.Agent | undefined;
  const getJson = async (path: string) => {
    const opts: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    // Credentials (a rotating token) are applied per request; the TLS settings once, to a keep-alive
    // agent: the client makes a new agent, hence a new handshake, per call, and a list is many pages.
    await config.applyToHTTPSOptions(opts);
    if (opts.agent instanceof https.Agent) opts.agent = agent ??= new https.Agent({ ...opts.agent.options, keepAlive: true });
    return get(opts, server, path);
  };
  return { config, server, getJson, watch: new Watch(config) };
}

/** A GET; an HTTP error becomes an Error with `statusCode` (410 tells a list continue token expired). */
function get(opts: https.RequestOptions, server: string, path: string): Promise<unknown> {
  const url = new URL(server + path);
  const mod = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          const err = new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`) as Error & { statusCode?: number };
          err.statusCode = res.statusCode;
          return reject(err);
        }
        try {
          resolve(JSON.parse(text));
        } catch (e) {
          reject(new Error(`GET ${path}: not JSON (${(e as Error).message})`));
        }
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path}: no answer within 60 s`)));
    req.on('error', reject);
    req.end();
  });
}
