// The view state the URL carries (filters, levels, focus, selection, camera),
// so a link or a reload shows the same view.
export const WINDOWS = ['5m', '1h', '24h', '7d', 'all'] as const;
export type TimeWindow = (typeof WINDOWS)[number];
export const WINDOW_MS: Record<TimeWindow, number> = { '5m': 300_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 604_800_000, all: Infinity };

export interface Camera {
  x: number;
  y: number;
  ratio: number;
}

export interface ViewState {
  find: string;
  hide: string;
  window: TimeWindow;
  /** Only services of this namespace (and edges into or out of it); '' = all. */
  ns: string;
  /** Namespace overview: namespaces as nodes; undefined = decided by graph size. */
  overview?: boolean;
  /** Namespaces opened in place in the overview. */
  expanded: string[];
  /** Focus mode: this service and its `hops`-hop callers and callees. */
  focus: string;
  hops: number;
  selected: string;
  camera?: Camera;
}

export function readState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const w = p.get('window') as TimeWindow | null;
  const cam = p.get('camera')?.split(',').map(Number);
  const ov = p.get('overview');
  return {
    find: p.get('find') ?? '',
    hide: p.get('hide') ?? '',
    window: w && WINDOWS.includes(w) ? w : 'all',
    ns: p.get('ns') ?? '',
    overview: ov === null ? undefined : ov === '1',
    expanded: (p.get('expanded') ?? '').split(',').filter(Boolean),
    focus: p.get('focus') ?? '',
    hops: Math.min(5, Math.max(1, Number(p.get('hops') ?? 1) || 1)),
    selected: p.get('selected') ?? '',
    camera: cam && cam.length === 3 && cam.every(Number.isFinite) ? { x: cam[0], y: cam[1], ratio: cam[2] } : undefined,
  };
}

export function writeState(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.find) p.set('find', s.find);
  if (s.hide) p.set('hide', s.hide);
  if (s.window !== 'all') p.set('window', s.window);
  if (s.ns) p.set('ns', s.ns);
  if (s.overview !== undefined) p.set('overview', s.overview ? '1' : '0');
  if (s.expanded.length) p.set('expanded', s.expanded.join(','));
  if (s.focus) p.set('focus', s.focus);
  if (s.focus && s.hops !== 1) p.set('hops', String(s.hops));
  if (s.selected) p.set('selected', s.selected);
  if (s.camera) p.set('camera', [s.camera.x, s.camera.y, s.camera.ratio].map((n) => Number(n.toFixed(4))).join(','));
  const q = p.toString();
  return q ? `?${q}` : '';
}
