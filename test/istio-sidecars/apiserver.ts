// What the Sidecar writer's real-API-server tests and bench share: a writer
// wired to a kube-apiserver, and the API server's own count of Sidecar writes
// (from its /metrics, so the count does not come from the code under test).
import type { ApiServer } from '../harness/k8s/apiserver.ts';
import { DEFAULT_INSTANCE, loadKubeConfig, startIstioSidecars, type IstioSidecarOptions, type IstioSidecars } from '../../istio-sidecars/index.ts';
import type { FixedInventorySource } from '../../contracts/index.ts';

export const GATEWAY = { name: 'meshscope-gateway', namespace: 'meshscope', port: 15080 };

/** The default instance unless `opts` names one, as the analyzer without `--instance`. */
export async function startWriter(api: ApiServer, inventory: FixedInventorySource, opts: Partial<IstioSidecarOptions> = {}, log?: (m: string) => void): Promise<IstioSidecars> {
  return startIstioSidecars({ kc: loadKubeConfig(api.kubeconfig), inventory, gateway: GATEWAY, instance: DEFAULT_INSTANCE, log, ...opts });
}

/** Sidecar write requests the API server has answered, by verb (APPLY is a server-side-apply PATCH). */
export async function sidecarWrites(api: ApiServer): Promise<{ apply: number; delete: number }> {
  const res = await api.request('GET', '/metrics');
  const out = { apply: 0, delete: 0 };
  for (const line of String(res.body).split('\n')) {
    if (!line.startsWith('apiserver_request_total{') || !line.includes('resource="sidecars"')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (verb === 'APPLY') out.apply += n;
    if (verb === 'DELETE') out.delete += n;
  }
  return out;
}

export async function sidecarsIn(api: ApiServer, ns: string): Promise<any[]> {
  const res = await api.request('GET', `/apis/networking.istio.io/v1/namespaces/${ns}/sidecars`);
  if (res.status !== 200) throw new Error(`list sidecars in ${ns}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items;
}
