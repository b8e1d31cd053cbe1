// `--emit sidecars DIR`: the Istio Sidecar resource each source service's
// scope implies, for meshes that want the same narrowing from istiod.
import { writeFileSync } from 'node:fs';
import { makeDirs } from '../core/store/make-dirs.ts';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Inventory, Service, ServiceId } from '../../contracts/index.ts';
import { DEFAULT_INSTANCE, identityLabels } from '../../istio-sidecars/instance.ts';

export interface EmitResult {
  written: string[];
  /** Services no Sidecar could select (no label shared by all their workloads). */
  skipped: Array<{ service: ServiceId; why: string }>;
}

export function emitSidecars(inv: Inventory, scopes: Record<ServiceId, readonly ServiceId[]>, dir: string): EmitResult {
  makeDirs(dir);
  const result: EmitResult = { written: [], skipped: [] };
  for (const s of inv.services) {
    if (s.workloads.length === 0) {
      result.skipped.push({ service: s.id, why: 'it has no workloads' });
      continue;
    }
    const labels = commonLabels(s);
    if (Object.keys(labels).length === 0) {
      // A Sidecar without a selector would apply to the whole namespace.
      result.skipped.push({ service: s.id, why: 'its workloads share no label for a workloadSelector' });
      continue;
    }
    const hosts = (scopes[s.id] ?? []).map((d) => inv.service(d)).filter((d): d is Service => d !== undefined).map((d) => `${d.namespace}/${d.fqdn}`);
    const resource = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      // Labelled as the default install's objects are (applied by hand they are still not its own: another field manager).
      metadata: { name: s.name, namespace: s.namespace, labels: identityLabels(DEFAULT_INSTANCE) },
      spec: { workloadSelector: { labels }, egress: [{ hosts: [...hosts, 'istio-system/*'] }] },
    };
    const file = join(dir, `${s.name}.${s.namespace}.sidecar.yaml`);
    writeFileSync(file, stringify(resource));
    result.written.push(file);
  }
  return result;
}

function commonLabels(s: Service): Record<string, string> {
  const [first, ...rest] = s.workloads;
  return Object.fromEntries(Object.entries(first.labels).filter(([k, v]) => rest.every((w) => w.labels[k] === v)));
}
