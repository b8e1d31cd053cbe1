// ForceAtlas2 off the event loop. Plain JavaScript on purpose: a worker does
// not inherit the tsx loader the CLI registers in-process, and this file only
// needs graphology and the layout package.
import { parentPort, workerData } from 'node:worker_threads';
import Graph from 'graphology';
import forceAtlas2 from 'graphology-layout-forceatlas2';

/** @type {{ ids: string[], xs: Float64Array, ys: Float64Array, sources: Uint32Array, targets: Uint32Array, weights: Float64Array, iterations: number }} */
const { ids, xs, ys, sources, targets, weights, iterations } = workerData;
const g = new Graph({ type: 'undirected', multi: false, allowSelfLoops: false });
ids.forEach((id, i) => g.addNode(id, { x: xs[i], y: ys[i] }));
for (let i = 0; i < sources.length; i++) {
  if (sources[i] !== targets[i]) g.mergeEdge(ids[sources[i]], ids[targets[i]], { weight: weights[i] });
}
const settings = { ...forceAtlas2.inferSettings(g), barnesHutOptimize: ids.length > 500, gravity: 0.5, scalingRatio: 10 };
const pos = forceAtlas2(g, { iterations, settings, getEdgeWeight: 'weight' });
const outX = new Float64Array(ids.length);
const outY = new Float64Array(ids.length);
ids.forEach((id, i) => {
  outX[i] = pos[id].x;
  outY[i] = pos[id].y;
});
parentPort.postMessage({ xs: outX, ys: outY }, [outX.buffer, outY.buffer]);
