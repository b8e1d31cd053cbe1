// Which workload `meshscope bootstrap --workload X` means. Pod names carry a
// generated suffix (productpage-v1-fp2z2hr8dt-5zsht) nobody types, so a
// Deployment-style prefix (productpage-v1.default) or a service name
// (productpage.default) names the workload when exactly one matches; when
// several or none do, the error lists the candidates.
import type { Inventory, Workload } from '../contracts/index.ts';
import { editDistance as distance } from '../contracts/inventory/errors.ts';

export type Lookup = { workload: Workload; exact: boolean } | { error: string };

export function lookupWorkload(inventory: Inventory, given: string, file: string): Lookup {
  const exact = inventory.workload(given);
  if (exact) return { workload: exact, exact: true };
  const all = [...inventory.workloads()];
  const dot = given.lastIndexOf('.');
  const [name, namespace] = dot > 0 ? [given.slice(0, dot), given.slice(dot + 1)] : [given, undefined];
  const inNamespace = all.filter((w) => namespace === undefined || w.namespace === namespace);
  const byPrefix = inNamespace.filter((w) => w.name.startsWith(`${name}-`));
  const byService = inNamespace.filter((w) => w.service === `${name}.${w.namespace}`);
  const matches = byPrefix.length > 0 ? byPrefix : byService;
  if (matches.length === 1) return { workload: matches[0], exact: false };
  if (matches.length > 1) {
    return { error: `--workload ${given}: ${matches.length} workloads in ${file} match (${list(matches.map((w) => w.id))}); give one of them` };
  }
  if (all.length === 0) return { error: `--workload ${given}: ${file} lists no workloads` };
  const near = all
    .map((w) => ({ id: w.id, d: Math.min(distance(given, w.id), distance(name, w.service.slice(0, w.service.lastIndexOf('.'))) + 1) }))
    .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1))
    .slice(0, 3)
    .map((x) => x.id);
  return { error: `--workload ${given}: no such workload in ${file}; closest: ${list(near)} (a workload is POD.NAMESPACE; a Deployment or service name works when it names one pod)` };
}

function list(ids: string[]): string {
  return ids.length > 6 ? `${ids.slice(0, 6).join(', ')}, …` : ids.join(', ');
}
