import type { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  intervalMs?: number;
  /** Checked before each poll; a string aborts the wait with that reason (e.g. "process exited"). */
  abort?: () => string | undefined;
}

/**
 * Polls `pred` until it returns true. A throwing predicate counts as "not yet"
 * (components refuse connections while starting); its last error is quoted on timeout.
 */
export async function waitUntil(
  pred: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  opts: WaitOptions = {},
): Promise<void> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw new Error(`gave up waiting for ${what}: ${aborted}`);
    try {
      if (await pred()) return;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr ? ` (last error: ${(lastErr as Error).message ?? String(lastErr)})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(interval);
  }
}

/** First emission of `event`, rejecting on "error" or after timeoutMs. */
export function once<T = unknown>(emitter: EventEmitter, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    const onEvent = (value: T) => {
      cleanup();
      resolve(value);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== "error") emitter.off("error", onError);
    };
    emitter.on(event, onEvent);
    if (event !== "error") emitter.on("error", onError);
  });
}
