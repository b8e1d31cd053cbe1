// Workload groups: the pods one Sidecar `workloadSelector` can name. Pods of
// one controller (a Deployment through its ReplicaSets, a StatefulSet…) form
// a unit; its selector is the labels all its pods share, minus the ones the
// controller stamps per pod or per revision. Units with the same selector are
// one group (no selector can tell them apart). A group whose selector also
// matches pods outside it cannot get a Sidecar of its own: it is skipped, with
// the pod it would capture named.
import { createHash } from 'node:crypto';
import { splitId, type Inventory, type ServiceId, type Workload, type WorkloadId } from '../contracts/index.ts';

/** Labels that differ between pods of one controller, or between its revisions. */
export const VOLATILE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/job-completion-index',
  'controller-uid',
  'job-name',
]);

const NAME_PREFIX = 'meshscope-';

export interface WorkloadGroup {
  namespace: string;
  /** The Sidecar's name: `meshscope-<controller>` (a selector hash is added when two groups would share it). */
  name: string;
  selector: Readonly<Record<string, string>>;
  workloads: readonly WorkloadId[];
  /** The services the group's pods call as (their Workload.service). */
  services: readonly ServiceId[];
  /** `Kind/name` of each controller, or `pod/<id>` for pods without one. */
  owners: readonly string[];
}

export interface GroupSkip {
  namespace: string;
  workloads: WorkloadId[];
  owners: string[];
  reason: string;
}

export interface Groups {
  groups: WorkloadGroup[];
  skipped: GroupSkip[];
}

export interface GroupOptions {
  /** Namespaces whose pods meshscope never writes a Sidecar for (istio-system, its own). */
  ignoreNamespaces?: ReadonlySet<string>;
  /** Only these namespaces (groups never span two, so a change regroups only its own). */
  namespaces?: ReadonlySet<string>;
}

interface Unit {
  namespace: string;
  owner: string;
  base: string;
  selector: Record<string, string>;
  workloads: Set<WorkloadId>;
  services: Set<ServiceId>;
}

export function selectorLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) if (!VOLATILE_LABELS.has(k)) out[k] = labels[k];
  return out;
}

function canonical(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function intersect(a: Record<string, string>, b: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (b[k] === v) out[k] = v;
  return out;
}

export function findGroups(inv: Inventory, opts: GroupOptions = {}): Groups {
  const ignore = opts.ignoreNamespaces ?? new Set<string>();
  const units = new Map<string, Unit>();
  const pods = new Map<WorkloadId, Workload>();
  const only = opts.namespaces;
  const workloads = only ? inv.services.filter((svc) => only.has(svc.namespace)).flatMap((svc) => svc.workloads) : inv.workloads();
  for (const w of workloads) {
    if (ignore.has(w.namespace)) continue;
    const own = selectorLabels(w.labels);
    const owner = w.owner ? `${w.owner.kind}/${w.owner.name}` : `pod/${w.id}`;
    // Pods without a controller are grouped by their labels: replicas declared alike are one group.
    const key = `${w.namespace}\n${w.owner ? owner : canonical(own)}`;
    let u = units.get(key);
    if (!u) {
      u = { namespace: w.namespace, owner, base: w.owner?.name ?? splitId(w.service).name, selector: own, workloads: new Set(), services: new Set() };
      units.set(key, u);
    } else if (!u.workloads.has(w.id)) {
      u.selector = intersect(u.selector, own);
    }
    u.workloads.add(w.id);
    u.services.add(w.service);
    pods.set(w.id, w);
  }

  const bySelector = new Map<string, Unit[]>();
  const skipped: GroupSkip[] = [];
  for (const u of units.values()) {
    if (Object.keys(u.selector).length === 0) {
      skipped.push({ namespace: u.namespace, workloads: [...u.workloads].sort(), owners: [u.owner], reason: 'its pods share no label a workloadSelector could name them by' });
      continue;
    }
    const key = `${u.namespace}\n${canonical(u.selector)}`;
    bySelector.set(key, [...(bySelector.get(key) ?? []), u]);
  }

  // Pods per `ns k=v`, to find what else a selector matches without scanning every pod.
  const byLabel = new Map<string, WorkloadId[]>();
  for (const w of pods.values()) {
    for (const [k, v] of Object.entries(w.labels)) {
      const key = `${w.namespace}\n${k}=${v}`;
      const list = byLabel.get(key);
      if (list) list.push(w.id);
      else byLabel.set(key, [w.id]);
    }
  }
  const matches = (w: Workload, sel: Readonly<Record<string, string>>) => Object.entries(sel).every(([k, v]) => w.labels[k] === v);

  const named: Array<{ base: string; group: Omit<WorkloadGroup, 'name'> }> = [];
  for (const members of bySelector.values()) {
    members.sort((a, b) => (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
    const { namespace, selector } = members[0];
    const workloads = new Set(members.flatMap((m) => [...m.workloads]));
    const owners = members.map((m) => m.owner);
    let rarest: WorkloadId[] = [];
    for (const [k, v] of Object.entries(selector)) {
      const list = byLabel.get(`${namespace}\n${k}=${v}`) ?? [];
      if (rarest.length === 0 || list.length < rarest.length) rarest = list;
    }
    const stranger = rarest.find((id) => !workloads.has(id) && matches(pods.get(id)!, selector));
    if (stranger) {
      const other = pods.get(stranger)!;
      skipped.push({
        namespace,
        workloads: [...workloads].sort(),
        owners,
        reason: `its selector ${formatSelector(selector)} also matches pod ${stranger}${other.owner ? ` of ${other.owner.kind}/${other.owner.name}` : ''}; give its pods a label the others do not have`,
      });
      continue;
    }
    const services = [...new Set(members.flatMap((m) => [...m.services]))].sort();
    named.push({ base: members[0].base, group: { namespace, selector, workloads: [...workloads].sort(), services, owners } });
  }
  return { groups: nameGroups(named), skipped };
}

export function formatSelector(sel: Readonly<Record<string, string>>): string {
  return `{${Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

/** `meshscope-<base>`; groups of one namespace that would share a name each get a short selector hash. */
function nameGroups(named: Array<{ base: string; group: Omit<WorkloadGroup, 'name'> }>): WorkloadGroup[] {
  const count = new Map<string, number>();
  for (const { base, group } of named) count.set(`${group.namespace}/${base}`, (count.get(`${group.namespace}/${base}`) ?? 0) + 1);
  return named.map(({ base, group }) => {
    const hash = count.get(`${group.namespace}/${base}`)! > 1 ? `-${createHash('sha256').update(canonical(group.selector)).digest('hex').slice(0, 6)}` : '';
    const name = `${NAME_PREFIX}${base}`.slice(0, 253 - hash.length).replace(/[.-]+$/, '') + hash;
    return { ...group, name };
  });
}
