// Exports of what is on screen: a PNG of the view (sigma's layers composited
// on white) and the drawn (filtered, folded) graph as GEXF or graphology JSON.
import type Sigma from 'sigma';
import type { AbstractGraph } from 'graphology-types';
import { write as writeGexf } from 'graphology-gexf/browser/index.js';

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export function pngBlob(sigma: Sigma): Promise<Blob> {
  const { width, height } = sigma.getDimensions();
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement('canvas');
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  // WebGL layers keep their pixels only until the frame is composited: draw now, copy in the same task.
  sigma.refresh();
  const layers = sigma.getCanvases();
  for (const id of ['edges', 'nodes', 'edgeLabels', 'labels']) {
    const layer = layers[id];
    if (layer) ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
  }
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG export failed'))), 'image/png'));
}

export async function exportPng(sigma: Sigma): Promise<void> {
  download('meshscope-graph.png', await pngBlob(sigma));
}

export function exportGexf(graph: AbstractGraph): void {
  download('meshscope-graph.gexf', new Blob([writeGexf(graph)], { type: 'application/gexf+xml' }));
}

export function exportJson(graph: AbstractGraph): void {
  download('meshscope-graph.json', new Blob([JSON.stringify(graph.export(), null, 1)], { type: 'application/json' }));
}
