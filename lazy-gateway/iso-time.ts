// Access-log timestamps, one per request: formatting a Date costs more than
// the rest of the record, so the part up to the second is formatted once per second.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `ms` since the epoch (an integer, as Date.now() gives) as an ISO 8601 UTC string with milliseconds. */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    cachedPrefix = iso.slice(0, iso.length - 4); // through the '.' before the milliseconds
    cachedSecond = second;
  }
  const frac = ms - second * 1000;
  return `${cachedPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}
