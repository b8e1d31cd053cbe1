// Opens the inventory source a command was pointed at: a mesh.yaml file, or a
// Kubernetes API server (a kubeconfig, or the pod's own credentials).
import { readFileSync } from 'node:fs';
import type { KubernetesSourceOptions } from './kubernetes/index.ts';
import type { InventorySource } from './source.ts';
import { WatchedInventory } from './watch.ts';

export type InventoryOrigin = { mesh: string } | { kubernetes: KubernetesSourceOptions };

/** Follows the origin from here on; the Kubernetes source resolves once its first lists are in. */
export async function openInventorySource(origin: InventoryOrigin, log: (line: string) => void): Promise<InventorySource> {
  if ('mesh' in origin) return new WatchedInventory(origin.mesh, log).start();
  const own = ownNamespace();
  const opts = origin.kubernetes;
  // Loaded on demand: a mesh.yaml user never pays for the Kubernetes client's imports.
  const { KubernetesInventorySource } = await import('./kubernetes/index.ts');
  return KubernetesInventorySource.start({ log, ...opts, excludeNamespaces: [...(opts.excludeNamespaces ?? []), ...(own ? [own] : [])] });
}

/** meshscope's own namespace (left out of the inventory): POD_NAMESPACE, else the service account's. */
function ownNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
