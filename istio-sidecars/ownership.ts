// Whose a Sidecar is. meshscope writes only Sidecars it made: labelled
// managed-by meshscope and applied by the `meshscope` field manager. Anything
// else that names or selects a group's pods belongs to someone, and the group
// is left alone, with the reason reported.
import { formatSelector, type WorkloadGroup } from './groups.ts';
import { MANAGED_BY_LABEL, MANAGER, type SidecarSpec } from './sidecar-spec.ts';

/** A Sidecar as the API server returns it (only the fields meshscope reads). */
export interface KubeSidecar {
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
  spec?: Partial<SidecarSpec> & { workloadSelector?: { labels?: Record<string, string> } };
}

export function managers(s: KubeSidecar): string[] {
  return [...new Set((s.metadata.managedFields ?? []).map((f) => f.manager ?? '?'))];
}

/** Made by meshscope: its label, and meshscope among the field managers. */
export function isOwn(s: KubeSidecar): boolean {
  return s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGER && managers(s).includes(MANAGER);
}

function describe(s: KubeSidecar): string {
  const by = managers(s).filter((m) => m !== MANAGER);
  return `Sidecar ${s.metadata.namespace}/${s.metadata.name}${by.length ? ` (managed by ${by.join(', ')})` : ''}`;
}

/**
 * Why meshscope must not write this group's Sidecar, or undefined. `present`
 * are the Sidecars of the group's namespace; `podLabels` the labels of its pods.
 */
export function foreignClaim(group: WorkloadGroup, present: Iterable<KubeSidecar>, podLabels: Iterable<Readonly<Record<string, string>>>): string | undefined {
  const labels = [...podLabels];
  for (const s of present) {
    if (isOwn(s)) continue;
    if (s.metadata.name === group.name) return `${describe(s)} has the name meshscope would write; it is not meshscope's`;
    const sel = s.spec?.workloadSelector?.labels;
    if (!sel || Object.keys(sel).length === 0) {
      // A workload Sidecar would override this namespace default for the group's pods.
      return `${describe(s)} is the namespace's own default Sidecar; meshscope leaves the namespace to it`;
    }
    if (labels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v))) {
      return `${describe(s)} already selects its pods with ${formatSelector(sel)}`;
    }
  }
  return undefined;
}

/** The spec fields meshscope applies; a co-manager of one of them makes meshscope's apply a conflict. */
const APPLIED_SPEC_FIELDS = ['f:workloadSelector', 'f:egress', 'f:outboundTrafficPolicy'];

/**
 * Field managers other than meshscope that hold a spec field meshscope applies,
 * on a Sidecar meshscope made (someone edited it). meshscope does not force
 * them back: applying would be refused (409), so it is not even tried.
 */
export function coManagers(s: KubeSidecar): string[] {
  const out = new Set<string>();
  for (const f of s.metadata.managedFields ?? []) {
    if (f.manager === MANAGER) continue;
    const spec = f.fieldsV1?.['f:spec'] ?? {};
    if (APPLIED_SPEC_FIELDS.some((k) => k in spec)) out.add(f.manager ?? '?');
  }
  return [...out];
}
