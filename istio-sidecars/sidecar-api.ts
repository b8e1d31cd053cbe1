// The two writes meshscope makes to Sidecars: server-side apply as the field
// manager of the install the object is labelled with (instance.ts; never forced: a field someone else manages is a
// conflict, not something to take over) with strict field validation (a field
// the Sidecar schema does not have is refused, not silently dropped), and a
// delete that names the uid and resourceVersion it read, so a Sidecar changed
// or replaced since is never deleted.
import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { managerOf } from './instance.ts';
import type { KubeSidecar } from './ownership.ts';
import type { SidecarObject } from './sidecar-spec.ts';

const GROUP = 'networking.istio.io';
const VERSION = 'v1';
const PLURAL = 'sidecars';

export interface SidecarApi {
  apply(obj: SidecarObject): Promise<KubeSidecar>;
  delete(s: KubeSidecar): Promise<void>;
}

/** The API server refused the write; `status` is its HTTP status (409: someone else manages a field). */
export class SidecarWriteError extends Error {
  override name = 'SidecarWriteError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromCluster();
  } catch (err) {
    throw new Error(`--kubeconfig ${file ?? '(in-cluster)'}: cannot load (${(err as Error).message}); pass a readable kubeconfig file`);
  }
  if (!kc.getCurrentCluster()) throw new Error(`--kubeconfig ${file ?? '(in-cluster)'}: no current cluster; set current-context`);
  return kc;
}

export function kubeSidecarApi(kc: KubeConfig): SidecarApi {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  return {
    async apply(obj) {
      const { name, namespace } = obj.metadata;
      try {
        return (await api.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: obj, fieldManager: managerOf(obj), force: false, fieldValidation: 'Strict' },
          ssa,
        )) as KubeSidecar;
      } catch (err) {
        throw writeError(err, `apply Sidecar ${namespace}/${name}`);
      }
    },
    async delete(s) {
      const { name, namespace, uid, resourceVersion } = s.metadata;
      try {
        await api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { preconditions: { uid, resourceVersion } } });
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return;
        throw writeError(err, `delete Sidecar ${namespace}/${name}`);
      }
    },
  };
}

function writeError(err: unknown, what: string): Error {
  if (!(err instanceof ApiException)) return new Error(`${what}: ${(err as Error).message}`);
  let message = String(err.body);
  try {
    message = (JSON.parse(String(err.body)) as { message?: string }).message ?? message;
  } catch {
    // not a Status object: keep the body as it came
  }
  return new SidecarWriteError(`${what}: ${err.code} ${message}`, err.code);
}
