// Renders the dependency graph for other tools: Graphviz DOT and GEXF (Gephi).
import type { AbstractGraph } from 'graphology-types';
import { write as writeGexf } from 'graphology-gexf';

type Graph = AbstractGraph;

export function toDot(graph: Graph, countOf: (attrs: Record<string, unknown>) => number): string {
  const lines = ['digraph meshscope {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  graph.forEachNode((node) => lines.push(`  ${quote(node)};`));
  graph.forEachEdge((_edge, attrs, source, target) => {
    lines.push(`  ${quote(source)} -> ${quote(target)} [label=${quote(String(countOf(attrs)))}];`);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function toGexf(graph: Graph): string {
  return writeGexf(graph, { formatNode: (key, attrs) => ({ label: key, attributes: flat(attrs) }), formatEdge: (_key, attrs) => ({ attributes: flat(attrs) }) });
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

// GEXF attributes are scalars; lists (e.g. protocols) become comma-joined strings.
function flat(attrs: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.join(',');
    else if (v !== undefined && v !== null) out[k] = JSON.stringify(v);
  }
  return out;
}
