// Durations as users write them on the command line: 7d, 12h, 30m, 45s, 250ms.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Whether `text` is written as a duration, for inputs that also accept other forms (a time, a count). */
export function isDuration(text: string): boolean {
  return DURATION.test(text.trim());
}

export function parseDuration(text: string, flag = 'duration'): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`${flag}: "${text}" is not a duration; write a number and a unit, e.g. 7d, 12h, 30m, 45s or 250ms`);
  return Number(m[1]) * UNITS[m[2]];
}

export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's']) {
    if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
