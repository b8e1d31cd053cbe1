// Every Sidecar in the cluster, kept by list + watch (relisting after 410 Gone,
// restarting after errors), with meshscope's own writes laid over it until
// their watch events arrive: so a write is never repeated because the watch
// is a little behind, and a change anyone else makes is seen at once.
import { EventEmitter } from 'node:events';
import { CustomObjectsApi, KubeConfig, makeInformer, type Informer, type KubernetesListObject, type ObjectCache } from '@kubernetes/client-node';
import type { KubeSidecar } from './ownership.ts';

/** `change`: a Sidecar of that namespace was created, changed or deleted by anyone but meshscope. */
export interface SidecarView extends EventEmitter<{ change: [namespace: string] }> {
  get(namespace: string, name: string): KubeSidecar | undefined;
  inNamespace(namespace: string): KubeSidecar[];
  all(): KubeSidecar[];
  /** meshscope just wrote this (the API server's answer). */
  noteApplied(s: KubeSidecar): void;
  noteDeleted(s: KubeSidecar): void;
}

interface Overlay {
  /** undefined: deleted by meshscope, the watch has not said so yet. */
  obj?: KubeSidecar;
  /** resourceVersions of earlier meshscope writes: their late events change nothing. */
  older: Set<string>;
}

const key = (ns: string, name: string) => `${ns}/${name}`;
const RESTART_MS = [500, 1000, 2000, 5000, 10_000];

export class SidecarStore extends EventEmitter<{ change: [namespace: string] }> implements SidecarView {
  private readonly informer: Informer<KubeSidecar & { metadata: { name: string } }> & ObjectCache<KubeSidecar>;
  private readonly overlay = new Map<string, Overlay>();
  private failures = 0;
  private restart?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly log: (msg: string) => void = () => {},
  ) {
    super();
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = async () =>
      (await api.listClusterCustomObject({ group: 'networking.istio.io', version: 'v1', plural: 'sidecars' })) as KubernetesListObject<KubeSidecar>;
    this.informer = makeInformer(kc, '/apis/networking.istio.io/v1/sidecars', list) as never;
    this.informer.on('add', (s) => this.seen(s, false));
    this.informer.on('update', (s) => this.seen(s, false));
    this.informer.on('delete', (s) => this.seen(s, true));
    this.informer.on('connect', () => (this.failures = 0));
    this.informer.on('error', (err) => this.failed(err));
  }

  /** Resolves once the first list is in and the watch runs. */
  async start(): Promise<void> {
    try {
      await this.informer.start();
    } catch (err) {
      throw new Error(`cannot list Sidecars (networking.istio.io/v1): ${(err as Error).message}; are the Istio CRDs installed and may this account list sidecars?`);
    }
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const wait = RESTART_MS[Math.min(this.failures++, RESTART_MS.length - 1)];
    this.log(`istio sidecars: watch failed (${(err as Error)?.message ?? err}); relisting in ${wait} ms`);
    clearTimeout(this.restart);
    this.restart = setTimeout(() => void this.informer.start().catch((e: unknown) => this.failed(e)), wait);
  }

  private seen(s: KubeSidecar, deleted: boolean): void {
    const k = key(s.metadata.namespace, s.metadata.name);
    const ov = this.overlay.get(k);
    const rv = s.metadata.resourceVersion ?? '';
    if (ov) {
      const ours = deleted ? ov.obj === undefined : ov.older.has(rv);
      // Our latest write arriving ends the overlay; a late event of an earlier one changes nothing.
      if (ours && (deleted || ov.obj?.metadata.resourceVersion === rv)) this.overlay.delete(k);
      if (ours) return;
      // Anyone else's change: the watch is the truth again.
      this.overlay.delete(k);
    }
    this.emit('change', s.metadata.namespace);
  }

  get(namespace: string, name: string): KubeSidecar | undefined {
    const ov = this.overlay.get(key(namespace, name));
    return ov ? ov.obj : this.informer.get(name, namespace);
  }

  inNamespace(namespace: string): KubeSidecar[] {
    return this.merged(this.informer.list(namespace), (k) => k.startsWith(`${namespace}/`));
  }

  all(): KubeSidecar[] {
    return this.merged(this.informer.list(), () => true);
  }

  private merged(listed: readonly KubeSidecar[], pick: (k: string) => boolean): KubeSidecar[] {
    const out = new Map(listed.map((s) => [key(s.metadata.namespace, s.metadata.name), s]));
    for (const [k, ov] of this.overlay) {
      if (!pick(k)) continue;
      if (ov.obj) out.set(k, ov.obj);
      else out.delete(k);
    }
    return [...out.values()];
  }

  noteApplied(s: KubeSidecar): void {
    const k = key(s.metadata.namespace, s.metadata.name);
    const older = this.overlay.get(k)?.older ?? new Set<string>();
    older.add(s.metadata.resourceVersion ?? '');
    this.overlay.set(k, { obj: s, older });
  }

  noteDeleted(s: KubeSidecar): void {
    const k = key(s.metadata.namespace, s.metadata.name);
    const older = this.overlay.get(k)?.older ?? new Set<string>();
    this.overlay.set(k, { obj: undefined, older });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    await this.informer.stop();
  }
}
