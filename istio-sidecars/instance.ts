// Which meshscope install an object belongs to. Several installs may share a
// cluster (one per team, per namespace set, a canary next to the main one);
// each writes only objects labelled with its own instance name
// (`--instance`, the Helm release name) and applies them as its own field
// manager, so none prunes or overwrites another's.

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** The managed-by value on everything any meshscope install writes. */
export const MANAGED_BY = 'meshscope';
export const DEFAULT_INSTANCE = 'meshscope';

/**
 * The server-side-apply field manager of an install. Per instance, because
 * field ownership is per manager: two installs applying as the same manager
 * would each silently take over the other's fields (no conflict between a
 * manager and itself), so one install could overwrite another's Sidecar
 * whenever its view of the cluster lagged. With a manager of its own, such an
 * apply is refused by the API server (409: the instance label, at least,
 * differs). The default instance keeps plain `meshscope`, the manager every
 * earlier version applied with, so after an upgrade it still owns the fields
 * it wrote (another name would make its first change of any of them a
 * conflict with itself).
 */
export function fieldManager(instance: string): string {
  return instance === DEFAULT_INSTANCE ? MANAGED_BY : `${MANAGED_BY}-${instance}`;
}

/** The labels on every object the install writes. */
export function identityLabels(instance: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [INSTANCE_LABEL]: instance };
}

/**
 * An install as its writes carry it: its name, the labels on every object it
 * writes and the field manager it applies them as. Made once from `--instance`
 * (startIstioSidecars) and handed to everything that writes or judges
 * ownership, so none of them picks a name of its own.
 */
export interface Instance {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly fieldManager: string;
}

export function instanceNamed(name: string): Instance {
  return { name, labels: identityLabels(name), fieldManager: fieldManager(name) };
}

/**
 * The meshscope install these labels say wrote the object, or undefined when
 * it is not labelled as meshscope's. An object labelled managed-by meshscope
 * without an instance was written by a version before instances: it belongs
 * to the default instance, so upgrading that install neither orphans those
 * objects nor fights over them (it relabels each on its next write).
 */
export function instanceOf(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  if (labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return undefined;
  return labels[INSTANCE_LABEL] ?? DEFAULT_INSTANCE;
}

/** The field manager an object meshscope writes is applied as: the install its labels name. */
export function managerOf(obj: { metadata: { labels?: Readonly<Record<string, string>> } }): string {
  return fieldManager(instanceOf(obj.metadata.labels) ?? DEFAULT_INSTANCE);
}
