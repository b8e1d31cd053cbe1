// Nearest-rank order statistics over every sample: the benches print them and
// the demo and the Istio time-to-direct tracker report them.

/** The p-th percentile (0–100) by nearest rank; NaN when there are no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
