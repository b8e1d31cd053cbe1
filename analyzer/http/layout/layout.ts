// The graph page's positions: computed once (namespace seed, then
// ForceAtlas2 in a worker thread), cached, and only ever extended: a service
// that appears later is placed near its neighbours and nothing else moves, so
// the page never reflows on a refresh or a new edge.
import { Worker } from 'node:worker_threads';
import { placeNew, seedPositions, type Point } from './seed.ts';

export interface LayoutInput {
  nodes: ReadonlyArray<{ id: string; namespace: string }>;
  edges: ReadonlyArray<{ source: string; target: string }>;
}

export interface Bbox {
  x: [number, number];
  y: [number, number];
}

const CROSS_NAMESPACE_WEIGHT = 0.05;

/** Fewer iterations on big graphs: the namespace seed is already most of the picture. */
function iterationsFor(n: number): number {
  return n > 5000 ? 40 : n > 1000 ? 80 : 200;
}

export class Layout {
  private readonly positions = new Map<string, Point>();
  private readonly nsMembers = new Map<string, Point[]>();
  private computing?: Promise<void>;
  private worker?: Worker;
  bbox: Bbox = { x: [-1, 1], y: [-1, 1] };
  /** ms the full layout took (seed + ForceAtlas2), for logs and the bench. */
  tookMs = 0;
  /** Why ForceAtlas2 did not run (the seed was kept), if it did not. */
  failure?: string;

  constructor(private readonly input: () => LayoutInput) {}

  /** Computes the full layout once; later calls wait for the same run. */
  ready(): Promise<void> {
    this.computing ??= this.compute();
    return this.computing;
  }

  get computed(): boolean {
    return this.positions.size > 0;
  }

  position(id: string): Point | undefined {
    return this.positions.get(id);
  }

  /** The position of `id`, placing it now if it is new (near `neighbours`, else its namespace). */
  place(id: string, namespace: string, neighbours: readonly string[]): Point {
    const known = this.positions.get(id);
    if (known) return known;
    const near = neighbours.map((n) => this.positions.get(n)).filter((p): p is Point => p !== undefined);
    const p = placeNew(id, near, this.nsMembers.get(namespace) ?? [], this.positions.values());
    this.set(id, namespace, p);
    return p;
  }

  close(): void {
    void this.worker?.terminate();
  }

  private set(id: string, namespace: string, p: Point): void {
    this.positions.set(id, p);
    let m = this.nsMembers.get(namespace);
    if (!m) this.nsMembers.set(namespace, (m = []));
    m.push(p);
  }

  private async compute(): Promise<void> {
    const started = performance.now();
    const { nodes, edges } = this.input();
    const seed = seedPositions(nodes);
    const ids = nodes.map((n) => n.id);
    const index = new Map(ids.map((id, i) => [id, i]));
    const pairs = edges.filter((e) => index.has(e.source) && index.has(e.target));
    const xs = Float64Array.from(ids, (id) => seed.get(id)!.x);
    const ys = Float64Array.from(ids, (id) => seed.get(id)!.y);
    const out = ids.length > 1 && pairs.length > 0
      ? await this.runWorker({
          ids,
          xs,
          ys,
          sources: Uint32Array.from(pairs, (e) => index.get(e.source)!),
          targets: Uint32Array.from(pairs, (e) => index.get(e.target)!),
          // Calls across namespaces pull far less: namespaces stay recognisable clusters.
          weights: Float64Array.from(pairs, (e) => (nodes[index.get(e.source)!].namespace === nodes[index.get(e.target)!].namespace ? 1 : CROSS_NAMESPACE_WEIGHT)),
          iterations: iterationsFor(ids.length),
        }).catch((err: Error) => {
          // Closed while computing, or the worker failed: the namespace seed is a usable layout.
          this.failure = err.message;
          return { xs, ys };
        })
      : { xs, ys };
    // Nodes placed while the worker ran (new edges) keep their spot.
    nodes.forEach((n, i) => {
      if (!this.positions.has(n.id)) this.set(n.id, n.namespace, { x: out.xs[i], y: out.ys[i] });
    });
    this.bbox = bboxOf(this.positions.values());
    this.tookMs = performance.now() - started;
  }

  private runWorker(data: Record<string, unknown>): Promise<{ xs: Float64Array; ys: Float64Array }> {
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./fa2-worker.mjs', import.meta.url), { workerData: data });
      this.worker = w;
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`graph layout worker exited with code ${code}`)));
    });
  }
}

function bboxOf(points: Iterable<Point>): Bbox {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    x1 = Math.max(x1, p.x);
    y0 = Math.min(y0, p.y);
    y1 = Math.max(y1, p.y);
  }
  if (!Number.isFinite(x0)) return { x: [-1, 1], y: [-1, 1] };
  // A margin so the outermost nodes are not on the canvas edge, and room for a few late ones.
  const mx = Math.max(1, (x1 - x0) * 0.05);
  const my = Math.max(1, (y1 - y0) * 0.05);
  return { x: [x0 - mx, x1 + mx], y: [y0 - my, y1 + my] };
}
