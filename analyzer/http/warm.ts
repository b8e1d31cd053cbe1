// Caches that cost seconds to build at 10k services (the graph, the view, the
// services list) are built ahead of the first request, once the server is
// listening: a step at a time, each a slice of a few milliseconds followed by
// a turn of the event loop, so /healthz and every other request are answered
// meanwhile. The work lands in the very caches the routes use, so a request
// that arrives mid-warm reuses what is done and builds only the rest.
import { setImmediate as turn } from 'node:timers/promises';

/** Does about `budgetMs` of work; resolves true when there is none left. */
export type WarmStep = (budgetMs: number) => boolean | Promise<boolean>;

export class Warmer {
  private readonly steps: WarmStep[] = [];
  private stopped = false;
  private running?: Promise<void>;
  /** Steps done, and how long the whole warm took (ms) once finished. */
  readonly progress = { done: 0, total: 0, ms: undefined as number | undefined };

  constructor(private readonly sliceMs = 10) {}

  /** Steps run in the order added. */
  add(step: WarmStep): void {
    this.steps.push(step);
    this.progress.total++;
  }

  /** Starts warming in the background (once); the promise settles when done or stopped. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops at the end of the current slice and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<void> {
    const t = performance.now();
    for (const step of this.steps) {
      await turn();
      while (!this.stopped && !(await step(this.sliceMs))) await turn();
      if (this.stopped) return;
      this.progress.done++;
    }
    this.progress.ms = performance.now() - t;
  }
}

/** A step going through a list (taken when the step first runs), calling `each` on as many items as fit in a slice. */
export function sliced<T>(list: () => readonly T[], each: (item: T) => void): WarmStep {
  let items: readonly T[] | undefined;
  let i = 0;
  return (budgetMs) => {
    items ??= list();
    const stop = performance.now() + budgetMs;
    while (i < items.length) {
      each(items[i++]);
      if ((i & 15) === 0 && performance.now() > stop) return false;
    }
    return true;
  };
}
