// Where a service is drawn before and outside the force layout: namespaces on
// a sunflower spiral (sorted by name, so the same mesh seeds the same way),
// each namespace's services on a smaller sunflower around its centre. A node
// added later is placed near what it is connected to, or its namespace, and
// nothing already placed moves.
export interface Point {
  x: number;
  y: number;
}

const GOLDEN = Math.PI * (3 - Math.sqrt(5));
/** Distance between neighbouring services in the seed. */
export const SPACING = 10;

function sunflower(i: number, step: number): Point {
  const r = step * Math.sqrt(i + 0.5);
  return { x: r * Math.cos(i * GOLDEN), y: r * Math.sin(i * GOLDEN) };
}

/** Seed positions for every service, grouped by namespace. */
export function seedPositions(nodes: ReadonlyArray<{ id: string; namespace: string }>): Map<string, Point> {
  const byNs = new Map<string, string[]>();
  for (const n of nodes) {
    let list = byNs.get(n.namespace);
    if (!list) byNs.set(n.namespace, (list = []));
    list.push(n.id);
  }
  const namespaces = [...byNs.keys()].sort();
  // A namespace's disc has radius ≈ SPACING·√size; centres are spaced by the largest one.
  const largest = Math.max(1, ...[...byNs.values()].map((l) => l.length));
  const nsStep = SPACING * Math.sqrt(largest) * 2.2;
  const out = new Map<string, Point>();
  namespaces.forEach((ns, i) => {
    const centre = namespaces.length === 1 ? { x: 0, y: 0 } : sunflower(i, nsStep);
    byNs.get(ns)!.sort().forEach((id, j) => {
      const p = sunflower(j, SPACING);
      out.set(id, { x: centre.x + p.x, y: centre.y + p.y });
    });
  });
  return out;
}

/** A stable pseudo-random angle per id, so a node placed twice lands in the same spot. */
function angleOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return ((h >>> 0) / 2 ** 32) * 2 * Math.PI;
}

/**
 * A position for a node the layout has not seen: beside the centroid of its
 * placed neighbours, else of its namespace, else on a ring outside everything.
 */
export function placeNew(id: string, neighbours: readonly Point[], namespaceMembers: readonly Point[], all: Iterable<Point>): Point {
  const around = neighbours.length ? neighbours : namespaceMembers;
  const a = angleOf(id);
  if (around.length) {
    const c = centroid(around);
    return { x: c.x + SPACING * Math.cos(a), y: c.y + SPACING * Math.sin(a) };
  }
  let r = 0;
  let n = 0;
  for (const p of all) {
    r = Math.max(r, Math.hypot(p.x, p.y));
    n++;
  }
  const out = n ? r + SPACING * 3 : 0;
  return { x: out * Math.cos(a), y: out * Math.sin(a) };
}

function centroid(points: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p.x;
    y += p.y;
  }
  return { x: x / points.length, y: y / points.length };
}
