// The graph page: loads the server's view once, draws it with sigma (WebGL),
// and from then on applies server-sent deltas in place. Every filter, level and
// focus is computed here from one model (display.ts), so no late answer can
// undo a filter, and positions come from the server, so nothing reflows.
import './style.css';
import { DirectedGraph } from 'graphology';
import Sigma from 'sigma';
import { EdgeLineProgram, NodePointProgram } from 'sigma/rendering';
import type { GraphDelta, GraphView } from '../live-graph.ts';
import { getView } from './api.ts';
import { buildDisplay, changesMoreThan, syncGraph, type Display } from './display.ts';
import { exportGexf, exportJson, exportPng } from './export.ts';
import { Model } from './model.ts';
import { lightenWhileMoving } from './moving.ts';
import { Panel } from './panel.ts';
import { parseQuery, QueryError, type Query } from './query.ts';
import { attachSearch } from './search.ts';
import { readState, writeState, type TimeWindow } from './state.ts';

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!;
/** Above this many services the page opens on the namespace overview. */
const OVERVIEW_ABOVE = 1000;

const state = readState(location.search);
// The view is asked for first: it is on its way while sigma and the toolbar are set up.
performance.mark('meshscope:fetch');
let firstView: Promise<GraphView> | undefined = getView();
const model = new Model();
let graph = new DirectedGraph({ allowSelfLoops: true });
let display: Display = { nodes: new Map(), edges: new Map(), services: 0 };
let findQ: Query | undefined;
let hideQ: Query | undefined;
let neighbours = new Set<string>();
let hovered = '';
let frames = 0;
let awaitingFrame = false;
let cameraRestored = false;

const DIM_NODE = '#e4e7eb';
const DIM_EDGE = '#eef0f3';

const sigma = new Sigma(graph, $('#graph'), {
  defaultEdgeType: 'arrow',
  // Big views: discs as gl.POINTS and edges as 1 px gl.LINES (display.ts picks the type per view).
  nodeProgramClasses: { point: NodePointProgram },
  edgeProgramClasses: { line: EdgeLineProgram },
  renderEdgeLabels: false,
  labelRenderedSizeThreshold: 7,
  labelDensity: 0.6,
  labelFont: 'system-ui, sans-serif',
  labelSize: 12,
  labelColor: { color: '#334e68' },
  zIndex: true,
  minCameraRatio: 0.002,
  maxCameraRatio: 4,
  enableEdgeEvents: false,
  // sigma passes a fresh copy of the attributes to the reducers: they change it in
  // place, so a refresh of 40k items allocates nothing here.
  nodeReducer: (key, a) => {
    const found = display.found;
    const sel = state.selected;
    const dimmed = key !== hovered && ((found && !found.has(key)) || (sel && key !== sel && !neighbours.has(key)));
    if (dimmed) {
      a.color = DIM_NODE;
      a.label = '';
      a.zIndex = 0;
      return a;
    }
    const emphasised = key === sel || key === hovered || (found?.has(key) ?? false);
    a.zIndex = emphasised ? 2 : 1;
    a.highlighted = emphasised;
    // A small graph shows every name; a big one those sigma's label grid has room for.
    a.forceLabel = emphasised || graph.order <= 60;
    return a;
  },
  edgeReducer: (key, a) => {
    a.zIndex = 1;
    const found = display.found;
    const sel = state.selected;
    if (!found && !sel) return a;
    const s = graph.source(key);
    const t = graph.target(key);
    if ((found && !found.has(key) && !(found.has(s) && found.has(t))) || (sel && s !== sel && t !== sel)) {
      a.color = DIM_EDGE;
      a.zIndex = 0;
    }
    return a;
  },
});

lightenWhileMoving(sigma);

sigma.on('afterRender', () => {
  if (!awaitingFrame) return;
  awaitingFrame = false;
  frames++;
  document.body.dataset.frame = String(frames);
  if (frames === 1) {
    performance.mark('meshscope:graph-ready');
    // Where the time to the first frame went (read by bench/graph-page.ts).
    performance.measure('meshscope:load', 'meshscope:fetch', 'meshscope:fetched');
    performance.measure('meshscope:draw', 'meshscope:fetched', 'meshscope:graph-ready');
    document.body.dataset.ready = 'true';
  }
});

const overview = (): boolean => state.overview ?? model.nodes.size > OVERVIEW_ABOVE;

function notice(text: string): void {
  const n = $('#notice');
  n.textContent = text;
  n.hidden = !text;
}

function saveUrl(): void {
  const cam = sigma.getCamera().getState();
  state.camera = cameraRestored || frames > 0 ? { x: cam.x, y: cam.y, ratio: cam.ratio } : state.camera;
  history.replaceState(null, '', `${location.pathname}${writeState(state)}`);
}

function parseInput(el: HTMLInputElement): Query | undefined {
  try {
    el.classList.remove('invalid');
    el.title = el.dataset.help ?? el.title;
    return parseQuery(el.value);
  } catch (err) {
    if (!(err instanceof QueryError)) throw err;
    el.classList.add('invalid');
    el.dataset.help ??= el.title;
    el.title = err.message;
    notice(`${el.id === 'find' ? 'Find' : 'Hide'}: ${err.message}`);
    return undefined;
  }
}

let renderQueued = false;
let lastLiveRender = 0;
/** A redraw for live changes: next frame, but at most once a second on big graphs so deltas never starve the UI. */
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  const wait = model.edges.size > 5000 ? Math.max(0, lastLiveRender + 1000 - performance.now()) : 0;
  setTimeout(() => requestAnimationFrame(() => {
    renderQueued = false;
    lastLiveRender = performance.now();
    render();
  }), wait);
}

function render(): void {
  if (model.version < 0) return;
  const t0 = performance.now();
  display = buildDisplay(model, state, overview(), findQ, hideQ);
  const t1 = performance.now();
  // Settings first, while the drawn graph is still the old one: each change makes sigma
  // re-reduce every item of the graph it holds, so it must not be the new big one.
  const want = {
    // Small graphs: every label; big ones: sigma's label grid picks what fits.
    labelRenderedSizeThreshold: display.nodes.size <= 300 ? 0 : 7,
    // Big views pan smoothly only without edges and labels while the camera moves (drawn again when it stops).
    hideEdgesOnMove: display.edges.size > 2000,
    hideLabelsOnMove: display.nodes.size > 1000,
  };
  if (Object.entries(want).some(([k, v]) => sigma.getSetting(k as keyof typeof want) !== v)) sigma.setSettings(want);
  if (!cameraRestored) {
    cameraRestored = true;
    if (state.camera) sigma.getCamera().setState(state.camera);
  }
  // The first draw, or a big change (overview ⇄ every service, a broad hide): filled off sigma and
  // handed over whole, one indexation instead of one per node and edge. Live deltas stay in place.
  const swap = graph.order === 0 || changesMoreThan(graph, display, 2000);
  if (swap) graph = new DirectedGraph({ allowSelfLoops: true }); // before setGraph: the reducers read `graph`
  syncGraph(graph, display);
  neighbours = new Set(state.selected && graph.hasNode(state.selected) ? graph.neighbors(state.selected) : []);
  if (frames === 0) performance.measure('meshscope:display', { start: t0, end: t1 }), performance.measure('meshscope:sync', { start: t1, end: performance.now() });
  awaitingFrame = true;
  if (swap) sigma.setGraph(graph); // indexes and draws it
  else sigma.refresh();
  $('#stats').textContent = `${display.services} of ${model.nodes.size} services · ${display.edges.size} edges drawn · ${model.edges.size} known`;
  $<HTMLInputElement>('#overview').checked = overview();
  const fb = $('#focus-bar');
  fb.hidden = !state.focus;
  $('#focus-name').textContent = state.focus;
  $<HTMLSelectElement>('#hops').value = String(state.hops);
  saveUrl();
}

// ---- loading and live updates ----

let loadSeq = 0;
let pending: GraphDelta[] = [];

async function load(): Promise<void> {
  const mine = ++loadSeq;
  try {
    const request = firstView ?? getView();
    firstView = undefined;
    const view = await request;
    // Only the latest request counts: an older answer arriving late is dropped.
    if (mine !== loadSeq) return;
    performance.mark('meshscope:fetched');
    model.load(view);
    sigma.setCustomBBox({ x: [view.bbox.x[0], view.bbox.x[1]], y: [view.bbox.y[0], view.bbox.y[1]] });
    for (const d of pending) model.apply(d);
    pending = [];
    fillNamespaces();
    notice('');
    render();
    if (state.selected && !panel.service) select(state.selected);
  } catch (err) {
    if (mine === loadSeq) notice(`Could not load the graph: ${(err as Error).message}`);
  }
}

function connect(): void {
  const es = new EventSource('/api/v1/graph/events');
  es.addEventListener('hello', (m) => {
    const { version } = JSON.parse((m as MessageEvent).data) as { version: number };
    // Reconnected after missing deltas: the view is reloaded once.
    if (model.version >= 0 && version > model.version) void load();
  });
  es.addEventListener('delta', (m) => {
    const d = JSON.parse((m as MessageEvent).data) as GraphDelta;
    if (model.version < 0) {
      pending.push(d);
      return;
    }
    if (d.version > model.version + 1) {
      void load();
      return;
    }
    if (!model.apply(d)) return;
    if (d.nodes.length) fillNamespaces();
    scheduleRender();
    const sel = panel.service;
    if (sel && (d.scopes.some((s) => s.id === sel) || d.edges.some((e) => e.s === sel || e.t === sel) || d.expired.some((k) => k.startsWith(`${sel}>`) || k.endsWith(`>${sel}`)))) void panel.refresh();
  });
}

function fillNamespaces(): void {
  const sel = $<HTMLSelectElement>('#namespace');
  const have = new Set([...sel.options].map((o) => o.value));
  const all = [...new Set([...model.nodes.values()].map((n) => n.ns))].sort();
  for (const ns of all) if (!have.has(ns)) sel.add(new Option(ns, ns));
  sel.value = state.ns;
}

// ---- selection, focus, locate ----

const panel = new Panel($('#panel'), {
  edgeInfo: (key) => {
    const e = model.edges.get(key);
    return e && { rps: e.rps, errPct: e.errPct, expiresAt: e.expiresAt };
  },
  now: () => model.now(),
  close: () => select(''),
  focus: (id) => setFocus(id),
  locate: (id) => locate(id),
  services: () => [...model.nodes.keys()].sort(),
});

function select(id: string): void {
  state.selected = id;
  if (id) {
    panel.open(id);
    panel.fillServices();
  } else panel.close();
  document.querySelector('main')!.classList.toggle('panel-open', !!id);
  render();
  if (id) revealBesidePanel(id);
}

/** The panel covers the right of the canvas: a selected service under it is panned into view (the canvas itself never resizes, so nothing jumps). */
function revealBesidePanel(id: string): void {
  if (!graph.hasNode(id)) return;
  const p = sigma.graphToViewport(graph.getNodeAttributes(id) as { x: number; y: number });
  const { width } = sigma.getDimensions();
  const free = width - $('#panel').offsetWidth;
  if (p.x < free - 40) return;
  const camera = sigma.getCamera();
  const target = sigma.viewportToFramedGraph({ x: p.x - free / 2 + width / 2, y: sigma.getDimensions().height / 2 });
  const centre = sigma.viewportToFramedGraph({ x: width / 2, y: sigma.getDimensions().height / 2 });
  const cam = camera.getState();
  void camera.animate({ x: cam.x + (target.x - centre.x), y: cam.y }, { duration: 250 });
}

function setFocus(id: string): void {
  state.focus = id;
  state.selected = id || state.selected;
  render();
  requestAnimationFrame(() => fit());
}

/** Makes a service visible (opening its namespace, leaving a focus or namespace filter that excludes it), then centres on it. */
function locate(id: string): void {
  const n = model.nodes.get(id);
  if (!n) return notice(`No service ${id}`);
  if (state.ns && state.ns !== n.ns) state.ns = '';
  $<HTMLSelectElement>('#namespace').value = state.ns;
  if (state.focus && !graph.hasNode(id)) state.focus = '';
  if (overview() && !state.expanded.includes(n.ns)) state.expanded.push(n.ns);
  select(id);
  if (!graph.hasNode(id)) return notice(`${id} is hidden by the current Hide query or time window`);
  const camera = sigma.getCamera();
  sigma.refresh();
  const p = sigma.getNodeDisplayData(id)!;
  void camera.animate({ x: p.x, y: p.y, ratio: Math.min(camera.getState().ratio, model.nodes.size > 200 ? 0.08 : 0.6) }, { duration: 350 }).then(saveUrl);
}

function fit(): void {
  if (!state.focus && graph.order === 0) return;
  if (!state.focus && !state.ns) {
    void sigma.getCamera().animatedReset({ duration: 300 }).then(saveUrl);
    return;
  }
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  graph.forEachNode((key: string) => {
    const d = sigma.getNodeDisplayData(key);
    if (!d) return;
    x0 = Math.min(x0, d.x);
    x1 = Math.max(x1, d.x);
    y0 = Math.min(y0, d.y);
    y1 = Math.max(y1, d.y);
  });
  if (!Number.isFinite(x0)) return;
  const ratio = Math.max(0.02, Math.max(x1 - x0, y1 - y0) * 1.3);
  void sigma.getCamera().animate({ x: (x0 + x1) / 2, y: (y0 + y1) / 2, ratio }, { duration: 300 }).then(saveUrl);
}

sigma.on('clickNode', ({ node }) => {
  const attrs = graph.getNodeAttributes(node);
  if (attrs.kind === 'namespace') {
    // Opens in place: its services appear where the namespace node was, nothing else moves.
    state.expanded = [...new Set([...state.expanded, attrs.ns as string])];
    render();
    return;
  }
  select(node);
});
sigma.on('doubleClickNode', (e) => {
  e.preventSigmaDefault();
  if (graph.getNodeAttribute(e.node, 'kind') === 'service') setFocus(e.node);
});
sigma.on('rightClickNode', (e) => {
  // Folds a namespace opened in the overview back into one node.
  const ns = graph.getNodeAttribute(e.node, 'ns') as string;
  if (!overview() || !state.expanded.includes(ns)) return;
  e.event.original.preventDefault();
  state.expanded = state.expanded.filter((x) => x !== ns);
  if (state.selected && model.nodes.get(state.selected)?.ns === ns) state.selected = '';
  render();
});
sigma.on('clickStage', () => state.selected && select(''));
// sigma draws the hovered node itself; only a dimmed one must be re-reduced to show
// undimmed, and only that node (a full refresh here would re-reduce 40k items per
// node crossed while panning).
const dimming = (): boolean => !!(display.found || state.selected);
sigma.on('enterNode', ({ node }) => {
  hovered = node;
  if (dimming()) sigma.refresh({ partialGraph: { nodes: [node] }, skipIndexation: true, schedule: true });
});
sigma.on('leaveNode', ({ node }) => {
  hovered = '';
  if (dimming() && graph.hasNode(node)) sigma.refresh({ partialGraph: { nodes: [node] }, skipIndexation: true, schedule: true });
});
let cameraTimer = 0;
sigma.getCamera().on('updated', () => {
  clearTimeout(cameraTimer);
  cameraTimer = window.setTimeout(saveUrl, 250);
});

// ---- toolbar ----

const find = $<HTMLInputElement>('#find');
const hide = $<HTMLInputElement>('#hide');
find.value = state.find;
hide.value = state.hide;
findQ = parseInput(find);
hideQ = parseInput(hide);
let queryTimer = 0;
for (const el of [find, hide]) {
  el.addEventListener('input', () => {
    clearTimeout(queryTimer);
    queryTimer = window.setTimeout(() => {
      notice('');
      state.find = find.value;
      state.hide = hide.value;
      findQ = parseInput(find);
      hideQ = parseInput(hide);
      render();
    }, 200);
  });
}
$<HTMLSelectElement>('#window').value = state.window;
$<HTMLSelectElement>('#window').addEventListener('change', (e) => {
  state.window = (e.target as HTMLSelectElement).value as TimeWindow;
  render();
});
$<HTMLSelectElement>('#namespace').addEventListener('change', (e) => {
  state.ns = (e.target as HTMLSelectElement).value;
  render();
  requestAnimationFrame(() => fit());
});
$<HTMLInputElement>('#overview').addEventListener('change', (e) => {
  state.overview = (e.target as HTMLInputElement).checked;
  state.expanded = [];
  render();
});
$('#hops').addEventListener('change', (e) => {
  state.hops = Number((e.target as HTMLSelectElement).value);
  render();
  requestAnimationFrame(() => fit());
});
$('#focus-clear').addEventListener('click', () => setFocus(''));
$('#fit').addEventListener('click', () => fit());
$('#zoom-in').addEventListener('click', () => void sigma.getCamera().animatedZoom({ duration: 200 }));
$('#zoom-out').addEventListener('click', () => void sigma.getCamera().animatedUnzoom({ duration: 200 }));
$('#export-png').addEventListener('click', () => void exportPng(sigma));
$('#export-gexf').addEventListener('click', () => exportGexf(graph));
$('#export-json').addEventListener('click', () => exportJson(graph));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !(e.target instanceof HTMLInputElement)) select('');
});

// ---- search-to-locate: any part of NAME.NAMESPACE ----

attachSearch($<HTMLInputElement>('#search'), $<HTMLUListElement>('#search-results'), () => model.nodes.keys(), locate);

// Time moves TTLs and windows even without traffic.
setInterval(scheduleRender, 30_000);

// For tests and the bench: the live objects, and where a service is on screen.
Object.assign(window, {
  meshscope: {
    sigma,
    get graph() {
      return graph;
    },
    model,
    state,
    display: () => display,
    reload: () => load(),
    /** Where a drawn node is, in page coordinates (for mouse clicks), or undefined. */
    viewport: (id: string) => {
      if (!graph.hasNode(id)) return undefined;
      const p = sigma.graphToViewport(graph.getNodeAttributes(id) as { x: number; y: number });
      const box = sigma.getContainer().getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    },
  },
});

connect();
void load();
