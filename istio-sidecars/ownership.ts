// Whose a Sidecar is. meshscope writes only Sidecars its own install made:
// labelled managed-by meshscope with its instance (instance.ts), and applied
// by its field manager. Anything else that names or selects a group's pods
// belongs to someone — a user, a tool, another meshscope install — and the
// group is left alone, with the reason reported.
import { formatSelector, type WorkloadGroup } from './groups.ts';
import { instanceOf, type Instance } from './instance.ts';
import type { SidecarSpec } from './sidecar-spec.ts';

/** An object as the API server returns it (only the fields meshscope reads). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    managedFields?: Array<{ manager?: string; operation?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }>;
  };
}

/** A Sidecar as the API server returns it. */
export interface KubeSidecar extends KubeObject {
  spec?: Partial<SidecarSpec> & { workloadSelector?: { labels?: Record<string, string> } };
}

export function managers(s: KubeObject): string[] {
  return [...new Set((s.metadata.managedFields ?? []).map((f) => f.manager ?? '?'))];
}

/** Made by this install: its instance's labels, and its field manager among the managers. */
export function isOwn(s: KubeObject, instance: Instance): boolean {
  return instanceOf(s.metadata.labels) === instance.name && managers(s).includes(instance.fieldManager);
}

function describe(s: KubeObject, instance: Instance): string {
  const other = instanceOf(s.metadata.labels);
  const by = managers(s).filter((m) => m !== instance.fieldManager);
  const whose = other !== undefined && other !== instance.name ? `meshscope instance "${other}"` : by.length ? `managed by ${by.join(', ')}` : '';
  return `Sidecar ${s.metadata.namespace}/${s.metadata.name}${whose ? ` (${whose})` : ''}`;
}

/**
 * Why this install must not write this group's Sidecar, or undefined.
 * `present` are the Sidecars of the group's namespace; `podLabels` the labels
 * of its pods.
 */
export function foreignClaim(
  group: WorkloadGroup,
  present: Iterable<KubeSidecar>,
  podLabels: Iterable<Readonly<Record<string, string>>>,
  instance: Instance,
): string | undefined {
  const labels = [...podLabels];
  for (const s of present) {
    if (isOwn(s, instance)) continue;
    if (s.metadata.name === group.name) return `${describe(s, instance)} has the name meshscope would write; it is not this install's (instance "${instance.name}")`;
    const sel = s.spec?.workloadSelector?.labels;
    if (!sel || Object.keys(sel).length === 0) {
      // A workload Sidecar would override this namespace default for the group's pods.
      return `${describe(s, instance)} is the namespace's own default Sidecar; meshscope leaves the namespace to it`;
    }
    if (labels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v))) {
      return `${describe(s, instance)} already selects its pods with ${formatSelector(sel)}`;
    }
  }
  return undefined;
}

/** The spec fields meshscope applies; a co-manager of one of them makes meshscope's apply a conflict. */
const APPLIED_SPEC_FIELDS = ['f:workloadSelector', 'f:egress', 'f:outboundTrafficPolicy'];

/**
 * Field managers other than this install's that hold a spec field it applies,
 * on a Sidecar it made (someone edited it). meshscope does not force them
 * back: applying would be refused (409), so it is not even tried.
 */
export function coManagers(s: KubeSidecar, instance: Instance): string[] {
  const out = new Set<string>();
  for (const f of s.metadata.managedFields ?? []) {
    if (f.manager === instance.fieldManager) continue;
    const spec = f.fieldsV1?.['f:spec'] ?? {};
    if (APPLIED_SPEC_FIELDS.some((k) => k in spec)) out.add(f.manager ?? '?');
  }
  return [...out];
}
