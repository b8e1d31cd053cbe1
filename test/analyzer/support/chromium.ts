// Headless Chromium for the graph page tests and bench. A missing browser is a
// failure with the fix in its message, never a skipped test.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.MESHSCOPE_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and downloads of browser tests: test-artifacts/ (gitignored). */
export const ARTIFACTS = new URL('../../../test-artifacts/', import.meta.url).pathname;

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set MESHSCOPE_CHROMIUM to its path`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // WebGL without a GPU: SwiftShader, which Chromium no longer enables on its own.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}
