// The dependency graph: services and workloads as graphology nodes, observed
// calls as edges whose attribute `edge` is the live Edge summary (updated in
// place, so readers of the graph always see current counts).
import { DirectedGraph } from 'graphology';
import type { Inventory, ServiceId } from '../../contracts/index.ts';
import { Edge, edgeKey, type EdgeKind, type EdgeTally } from './edge.ts';

export interface NodeAttributes {
  kind: 'service' | 'workload';
  id: string;
  /** For a workload: the service it calls as. */
  service?: ServiceId;
  /** False once the inventory no longer lists it (kept while edges remember it). */
  inInventory: boolean;
}

export interface EdgeAttributes {
  kind: EdgeKind;
  edge: Edge;
}

export type MeshGraph = DirectedGraph<NodeAttributes, EdgeAttributes>;

export const nodeKey = (kind: 'service' | 'workload', id: string): string => `${kind}:${id}`;

export class DependencyGraph {
  readonly graph: MeshGraph = new DirectedGraph<NodeAttributes, EdgeAttributes>({ allowSelfLoops: true });
  private readonly edges = new Map<string, Edge>();
  // Looked up twice per record: by source, then dest, so no key string is built
  // (the inventory's id strings keep their hash). A pod and a service may share
  // a name, hence one index per kind.
  private readonly serviceIndex = new Map<string, Map<ServiceId, Edge>>();
  private readonly workloadIndex = new Map<string, Map<ServiceId, Edge>>();
  private readonly outgoing = new Map<ServiceId, Edge[]>();
  private dirty: Edge[] = [];
  /** Service-level edges in scope now, kept by the edges themselves. */
  readonly tally: EdgeTally = { activeServiceEdges: 0 };

  /** The edge, created (inactive, empty) on first use. */
  edge(kind: EdgeKind, source: string, dest: ServiceId, workloadService?: ServiceId): Edge {
    return this.find(kind, source, dest) ?? this.create(kind, source, dest, edgeKey(kind, source, dest), workloadService);
  }

  find(kind: EdgeKind, source: string, dest: ServiceId): Edge | undefined {
    return (kind === 'service' ? this.serviceIndex : this.workloadIndex).get(source)?.get(dest);
  }

  /** Service-level edges leaving `source`, active or not. */
  from(source: ServiceId): readonly Edge[] {
    return this.outgoing.get(source) ?? [];
  }

  all(): IterableIterator<Edge> {
    return this.edges.values();
  }

  get size(): number {
    return this.edges.size;
  }

  markDirty(e: Edge): void {
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
  }

  /** The edges changed since the last call, for the store. */
  takeDirty(): Edge[] {
    const d = this.dirty;
    this.dirty = [];
    for (const e of d) e.dirty = false;
    return d;
  }

  /** Adds every service and workload of the inventory as a node; flags the ones it dropped. */
  syncInventory(inv: Inventory): void {
    const present = new Set<string>();
    for (const s of inv.services) {
      present.add(this.node('service', s.id));
      for (const w of s.workloads) present.add(this.node('workload', w.id, w.service));
    }
    this.graph.forEachNode((key, attrs) => {
      attrs.inInventory = present.has(key);
    });
  }

  /** Follows an inventory delta: only the nodes of the services it changed. */
  syncChanged(previous: Inventory, next: Inventory, changed: ReadonlySet<ServiceId>): void {
    for (const id of changed) {
      const before = previous.service(id);
      const after = next.service(id);
      if (after) {
        this.graph.setNodeAttribute(this.node('service', id), 'inInventory', true);
        for (const w of after.workloads) if (w.service === id) this.graph.setNodeAttribute(this.node('workload', w.id, w.service), 'inInventory', true);
      } else if (this.graph.hasNode(nodeKey('service', id))) {
        this.graph.setNodeAttribute(nodeKey('service', id), 'inInventory', false);
      }
      for (const w of before?.workloads ?? []) {
        const key = nodeKey('workload', w.id);
        if (!next.workload(w.id) && this.graph.hasNode(key)) this.graph.setNodeAttribute(key, 'inInventory', false);
      }
    }
  }

  /** Services with a service-level edge (active or not) to `dest`. */
  callersOf(dest: ServiceId): ServiceId[] {
    const key = nodeKey('service', dest);
    if (!this.graph.hasNode(key)) return [];
    const out: ServiceId[] = [];
    this.graph.forEachInEdge(key, (_e, attrs) => {
      if (attrs.kind === 'service') out.push(attrs.edge.source);
    });
    return out;
  }

  private create(kind: EdgeKind, source: string, dest: ServiceId, key: string, workloadService?: ServiceId): Edge {
    const e = new Edge(kind, source, dest, key, this.tally);
    this.edges.set(key, e);
    const index = kind === 'service' ? this.serviceIndex : this.workloadIndex;
    let bySource = index.get(source);
    if (!bySource) index.set(source, (bySource = new Map()));
    bySource.set(dest, e);
    if (kind === 'service') {
      let list = this.outgoing.get(source);
      if (!list) this.outgoing.set(source, (list = []));
      list.push(e);
    }
    const from = this.node(kind, source, workloadService);
    this.graph.addDirectedEdgeWithKey(key, from, this.node('service', dest), { kind, edge: e });
    return e;
  }

  private node(kind: 'service' | 'workload', id: string, service?: ServiceId): string {
    const key = nodeKey(kind, id);
    if (!this.graph.hasNode(key)) this.graph.addNode(key, { kind, id, service, inInventory: true });
    return key;
  }
}
