// Order statistics the benches print: exact, over every sample they took.
export { percentile } from '../contracts/percentile.ts';

/** The median of the defined, finite values, or undefined when there are none. */
export function median(values: ReadonlyArray<number | undefined>): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}
