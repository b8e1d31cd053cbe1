// What the server knows of each connected node, for the HTTP API. Streams
// register while open; a node disappears when its last stream ends.
import type { ProxyStatus, TypeStatus } from '../../contracts/index.ts';
import type { NodeHandle, XdsNode } from '../types.ts';

/** One open ADS stream as the registry sees it. */
export interface StreamView {
  readonly node: XdsNode;
  readonly handle: NodeHandle;
  readonly connectedAt: Date;
  readonly bytesPushed: number;
  types(): Record<string, TypeStatus>;
}

interface NodeRecord {
  streams: Set<StreamView>;
  /** Bytes pushed by this node's streams that have already ended. */
  bytesEnded: number;
}

export class NodeStatusRegistry {
  private readonly nodes = new Map<string, NodeRecord>();

  /** Registers an open stream; the returned function unregisters it when the stream ends. */
  open(view: StreamView): () => void {
    let rec = this.nodes.get(view.node.id);
    if (!rec) this.nodes.set(view.node.id, (rec = { streams: new Set(), bytesEnded: 0 }));
    rec.streams.add(view);
    const record = rec;
    return () => {
      if (!record.streams.delete(view)) return;
      record.bytesEnded += view.bytesPushed;
      if (record.streams.size === 0 && this.nodes.get(view.node.id) === record) this.nodes.delete(view.node.id);
    };
  }

  get size(): number {
    return this.nodes.size;
  }

  get(nodeId: string): ProxyStatus | undefined {
    const rec = this.nodes.get(nodeId);
    return rec && this.snapshot(rec);
  }

  list(): ProxyStatus[] {
    return [...this.nodes.values()].map((rec) => this.snapshot(rec)).sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  }

  private snapshot(rec: NodeRecord): ProxyStatus {
    // A node may briefly hold two streams (reconnect before the old one is
    // torn down): the newest stream's view of a type wins.
    const streams = [...rec.streams].sort((a, b) => a.connectedAt.getTime() - b.connectedAt.getTime());
    const newest = streams[streams.length - 1];
    const types: Record<string, TypeStatus> = {};
    let bytes = rec.bytesEnded;
    for (const s of streams) {
      Object.assign(types, s.types());
      bytes += s.bytesPushed;
    }
    const { workload, service, scope } = newest.handle;
    return {
      nodeId: newest.node.id,
      ...(workload ? { workload } : {}),
      ...(service ? { service } : {}),
      profile: newest.node.profile,
      streams: streams.length,
      connectedAt: streams[0].connectedAt.toISOString(),
      types,
      bytesPushed: bytes,
      scope: scope ? [...scope] : [],
    };
  }
}
