// GET /api/v1/graph as pieces of JSON text, kept between answers: a node is
// re-serialized only when its inventory entry or scope changed, an edge only
// when it entered or left its scope or (at most every `countsMaxAgeMs`) its
// counts moved; edges stay sorted by merging in the new ones. At 10k services
// a new edge or a scope change then costs a few fragments and one run of
// gzip instead of re-serializing 12 MB (see json-fragments.ts). The answer
// equals serviceGraphExport's from-scratch build (test/analyzer/graph-api.test.ts).
import type { ServiceId } from '../../contracts/index.ts';
import type { Edge } from '../core/edge.ts';
import { edgeView } from '../core/views.ts';
import type { Analyzer } from '../index.ts';
import { JsonPieces } from './cached-body.ts';
import type { FieldSelection } from './graph-fields.ts';
import { byEnds, EXPORT_OPTIONS, exportEdge, exportNode, filterOf, type GraphFilter } from './graph-view.ts';
import { ArrayRuns, FragmentCache, type Fragment } from './json-fragments.ts';
import { sliced, type WarmStep } from './warm.ts';

const EMPTY: readonly ServiceId[] = [];
const PREFIX = `{"options":${JSON.stringify(EXPORT_OPTIONS)},"attributes":{},"nodes":[`;

export class GraphJson {
  private readonly nodes = new FragmentCache<ServiceId>();
  private readonly edges: FragmentCache<Edge>;
  private sorted: Edge[] = [];
  private known = new Set<Edge>();
  private graphSize = -1;
  private cursor = -1;
  private readonly nodeRuns = new ArrayRuns();
  private readonly edgeRuns = new ArrayRuns();

  constructor(
    private readonly analyzer: Analyzer,
    private readonly fields: FieldSelection,
    /** How long an edge's counts may lag (its presence and `active` never do). */
    private readonly countsMaxAgeMs: number,
  ) {
    this.edges = new FragmentCache({ softMaxAgeMs: countsMaxAgeMs, now: () => analyzer.clock.now() });
  }

  build(f: GraphFilter): JsonPieces {
    const a = this.analyzer;
    const inv = a.inventory;
    const wanted = filterOf(f, a.clock.now());
    // Only a whole-graph build forgets entities that are gone; a filtered one sees a part.
    const whole = !f.namespace && !f.service && !f.since;
    this.nodes.begin();
    this.edges.begin();
    const nodeFrags: Fragment[] = [];
    const seen = new Set<ServiceId>();
    const addNode = (id: ServiceId, s = inv.service(id)) => {
      seen.add(id);
      nodeFrags.push(this.nodeFrag(id, s));
    };
    for (const s of inv.services) if (wanted.node(s.id)) addNode(s.id, s);
    const edgeFrags: Fragment[] = [];
    for (const e of this.serviceEdges()) {
      if (!(e.active || f.includeExpired) || !wanted.edge(e.source, e.dest, e.lastSeen)) continue;
      if (!seen.has(e.source)) addNode(e.source);
      if (!seen.has(e.dest)) addNode(e.dest);
      edgeFrags.push(this.edgeFrag(e));
    }
    if (whole) {
      this.nodes.end();
      this.edges.end();
    }
    const pieces = [PREFIX];
    (whole ? this.nodeRuns : new ArrayRuns()).pieces(nodeFrags, pieces);
    pieces.push('],"edges":[');
    (whole ? this.edgeRuns : new ArrayRuns()).pieces(edgeFrags, pieces);
    pieces.push(']}');
    return new JsonPieces(pieces);
  }

  /**
   * Warm steps (warm.ts) serializing, ahead of the first build, every inventory
   * service and every edge in scope: that build then only joins and compresses.
   */
  prepare(): WarmStep[] {
    const inv = () => this.analyzer.inventory.services;
    return [
      sliced(inv, (s) => this.nodeFrag(s.id, s)),
      sliced(() => this.serviceEdges(), (e) => e.active && this.edgeFrag(e)),
    ];
  }

  private nodeFrag(id: ServiceId, s = this.analyzer.inventory.service(id)): Fragment {
    const scope = this.analyzer.scope(id);
    return this.nodes.get(id, id, [s, scope.length ? scope : EMPTY], undefined, () => exportNode(id, s, scope, this.fields));
  }

  private edgeFrag(e: Edge): Fragment {
    return this.edges.get(e, e.key, [e.active], e.count, () => exportEdge(edgeView(e), this.fields));
  }

  /** Entities serialized so far, nodes and edges. */
  get rendered(): number {
    return this.nodes.rendered + this.edges.rendered;
  }

  /**
   * Renews, for about `budgetMs`, the edges whose counts moved and whose JSON is
   * older than half the lag allowed, going round the edges from where the last
   * call stopped. Called on a timer while the graph is being asked for, it keeps
   * a steadily busy mesh's answer from re-serializing every edge in one request
   * each time the counts' lag runs out. Returns how many it renewed.
   */
  renew(budgetMs: number): number {
    const edges = this.sorted;
    const now = this.analyzer.clock.now();
    const stop = performance.now() + budgetMs;
    let renewed = 0;
    for (let n = 0; n < edges.length && (n % 32 !== 0 || performance.now() < stop); n++) {
      this.cursor = (this.cursor + 1) % edges.length;
      const e = edges[this.cursor];
      if (this.edges.renew(e, e.count, this.countsMaxAgeMs / 2, now, () => exportEdge(edgeView(e), this.fields))) renewed++;
    }
    return renewed;
  }

  /** Every service-level edge, sorted by ends; edges are never removed from the graph, so new ones are merged in. */
  private serviceEdges(): readonly Edge[] {
    const graph = this.analyzer.graph;
    if (graph.size === this.graphSize) return this.sorted;
    if (graph.size < this.graphSize) {
      // Not done by the core today; if edges ever go, start over rather than keep them.
      this.sorted = [];
      this.known = new Set();
    }
    this.graphSize = graph.size;
    const fresh: Edge[] = [];
    graph.forEachEdge((_k, attrs) => {
      if (attrs.kind === 'service' && !this.known.has(attrs.edge)) fresh.push(attrs.edge);
    });
    if (fresh.length === 0) return this.sorted;
    for (const e of fresh) this.known.add(e);
    this.sorted = merge(this.sorted, fresh.sort(byEnds));
    return this.sorted;
  }
}

function merge(a: readonly Edge[], b: readonly Edge[]): Edge[] {
  const out: Edge[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = byEnds(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
