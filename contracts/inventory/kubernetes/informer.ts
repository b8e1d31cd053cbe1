// One resource kind, followed like client-go's reflector: list (paged), then
// watch from the list's resourceVersion; a watch that ends is resumed from the
// last version seen; 410 Gone (too old, compacted, a restarted API server that
// no longer has it) means relist. A relist is a reconciliation, not a reset:
// the fresh list is compared with the store and only real differences reach
// the handlers, so nothing learnt is dropped and nothing vanishes for a moment.
// Handlers run synchronously on each event and must only note what changed.
import type { KubeConnection } from './client.ts';
import { key, type Meta } from './objects.ts';

export interface InformerHandlers<T> {
  upsert(obj: T, previous: T | undefined): void;
  remove(obj: T): void;
}

export interface InformerOptions<T> {
  /** Collection path, e.g. /api/v1/pods or /apis/networking.istio.io/v1/serviceentries. */
  path: string;
  /** Keeps the fields the inventory reads (see objects.ts). */
  transform: (raw: Record<string, any>) => T;
  handlers: InformerHandlers<T>;
  log: (line: string) => void;
  pageSize?: number;
}

const MAX_BACKOFF_MS = 5_000;

export class Informer<T extends Meta> {
  readonly store = new Map<string, T>();
  /** Full lists done (the first included). */
  lists = 0;
  /** Watches (re)started. */
  watches = 0;
  private resourceVersion = '';
  private stopped = false;
  private abort?: AbortController;
  private timer?: NodeJS.Timeout;
  private backoffMs = 200;
  private failing = false;

  constructor(
    private readonly conn: KubeConnection,
    private readonly opts: InformerOptions<T>,
  ) {}

  get path(): string {
    return this.opts.path;
  }

  /** Lists once (the initial sync) and starts watching; rejects when the first list fails. */
  async start(): Promise<void> {
    // The first list may come from the API server's watch cache (resourceVersion 0, as client-go's
    // reflector does): fast, possibly a moment old, and the watch that follows catches up.
    // A busy or starting server (429 "storage is (re)initializing", 5xx, refused connections) is
    // waited for, up to a minute; anything else (401, 403, 404) fails the start at once.
    const deadline = Date.now() + 60_000;
    for (let delay = 200; ; delay = Math.min(delay * 2, MAX_BACKOFF_MS)) {
      try {
        await this.list('0');
        break;
      } catch (err) {
        const code = (err as { statusCode?: number }).statusCode;
        const transient = code === undefined || code === 429 || code >= 500;
        if (!transient || Date.now() + delay > deadline) throw err;
        if (!this.failing) this.opts.log(`kubernetes: first list of ${this.opts.path} failed (${(err as Error).message.slice(0, 200)}); retrying`);
        this.failing = true;
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopped) throw new Error('stopped');
      }
    }
    this.failing = false;
    this.watch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  /** `from` '0': any cached version will do (unpaged); '' (relists): the latest, paged. */
  private async list(from = ''): Promise<void> {
    const items = new Map<string, T>();
    let cont = '';
    let rv = '';
    do {
      const q = new URLSearchParams(from ? { resourceVersion: from } : { limit: String(this.opts.pageSize ?? 500) });
      if (cont) q.set('continue', cont);
      const page = (await this.conn.getJson(`${this.opts.path}?${q}`)) as { metadata?: { continue?: string; resourceVersion?: string }; items?: any[] };
      for (const raw of page.items ?? []) {
        const obj = this.opts.transform(raw);
        items.set(key(obj), obj);
      }
      cont = page.metadata?.continue ?? '';
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    this.lists++;
    this.reconcile(items);
    this.resourceVersion = rv;
  }

  private reconcile(items: Map<string, T>): void {
    const { handlers } = this.opts;
    for (const [k, obj] of items) {
      const before = this.store.get(k);
      if (before && before.resourceVersion === obj.resourceVersion) continue;
      this.store.set(k, obj);
      handlers.upsert(obj, before);
    }
    for (const [k, before] of this.store) {
      if (items.has(k)) continue;
      this.store.delete(k);
      handlers.remove(before);
    }
  }

  private watch(): void {
    if (this.stopped) return;
    this.watches++;
    const query = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) };
    let gone = false;
    const startedAt = Date.now();
    const onEvent = (type: string, obj: any) => {
      if (type === 'ERROR') {
        // 410: our resourceVersion is no longer served; anything else ends this watch too.
        if (obj?.code === 410) gone = true;
        else this.opts.log(`kubernetes: watch ${this.opts.path}: ${obj?.message ?? JSON.stringify(obj)}`);
        this.abort?.abort();
        return;
      }
      const rv = obj?.metadata?.resourceVersion;
      if (type === 'BOOKMARK') {
        if (rv) this.resourceVersion = rv;
        return;
      }
      const item = this.opts.transform(obj);
      const k = key(item);
      if (type === 'DELETED') {
        const before = this.store.get(k);
        this.store.delete(k);
        if (before) this.opts.handlers.remove(item);
      } else {
        const before = this.store.get(k);
        this.store.set(k, item);
        this.opts.handlers.upsert(item, before);
      }
      if (rv) this.resourceVersion = rv;
      this.backoffMs = 200;
      if (this.failing) {
        this.failing = false;
        this.opts.log(`kubernetes: watch ${this.opts.path} receiving again`);
      }
    };
    const onDone = (err: any) => {
      this.abort = undefined;
      if (this.stopped) return;
      if (gone || err?.statusCode === 410) return this.relist();
      if (err && err.name !== 'AbortError') this.retry(`watch ${this.opts.path} ended: ${err.message ?? err}`, () => this.watch());
      // A watch the server ends at once (shutting down) is retried with backoff, not in a tight loop.
      else if (Date.now() - startedAt < 1_000) this.retry(`watch ${this.opts.path} closed at once`, () => this.watch());
      else this.watch();
    };
    this.conn.watch.watch(this.opts.path, query, onEvent, onDone).then(
      (controller) => {
        if (this.stopped) controller.abort();
        else this.abort = controller;
      },
      (err: Error) => onDone(err),
    );
  }

  private relist(): void {
    if (this.stopped) return;
    this.opts.log(`kubernetes: ${this.opts.path}: resourceVersion ${this.resourceVersion} expired (410 Gone); relisting`);
    this.list().then(
      () => {
        this.backoffMs = 200;
        this.watch();
      },
      (err: Error) => this.retry(`relist ${this.opts.path} failed: ${err.message}`, () => this.relist()),
    );
  }

  /** Backs off (200 ms doubling to 5 s) and logs once per outage, not per attempt. */
  private retry(why: string, again: () => void): void {
    if (this.stopped) return;
    if (!this.failing) this.opts.log(`kubernetes: ${why}; retrying`);
    this.failing = true;
    this.timer = setTimeout(again, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }
}
