// One stderr line a second on long replays, so CI logs show it is moving.
// Wall time here only paces the output; the replay itself runs on record time.
export class Progress {
  private readonly started: number;
  private last: number;
  private lines = 0;

  constructor(
    private readonly file: string,
    private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    private readonly now: () => number = Date.now,
  ) {
    this.started = this.last = now();
  }

  add(lines: number): void {
    this.lines += lines;
    const now = this.now();
    if (now - this.last < 1000) return;
    this.last = now;
    const rate = Math.round(this.lines / ((now - this.started) / 1000));
    this.write(`replay: ${this.lines.toLocaleString('en-US')} lines of ${this.file} (${rate.toLocaleString('en-US')} lines/s)`);
  }
}
