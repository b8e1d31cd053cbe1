// The graph page, bundled from its TypeScript sources (page/) by esbuild in
// memory, once per process, on first request: no build step to forget and
// nothing that could drift from the sources, and it works from `npm ci` alike.
// Asset names carry a content hash so they can be cached for good; the HTML
// that names them is revalidated on every load.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface PageAssets {
  html: string;
  /** `/assets/NAME` → body and content type. */
  files: Map<string, { body: Buffer; type: string }>;
}

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
let assets: Promise<PageAssets> | undefined;

export function pageAssets(): Promise<PageAssets> {
  assets ??= bundle().catch((err: Error) => {
    assets = undefined;
    throw new Error(`graph page: bundling ${PAGE_DIR}main.ts failed: ${err.message}`);
  });
  return assets;
}

async function bundle(): Promise<PageAssets> {
  const out = await build({
    entryPoints: [`${PAGE_DIR}main.ts`],
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2020',
    write: false,
    outdir: '/assets',
    entryNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = new Map<string, { body: Buffer; type: string }>();
  let script = '';
  let style = '';
  for (const f of out.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const css = name.endsWith('.css');
    files.set(name, { body: Buffer.from(f.contents), type: css ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
    if (css) style = name;
    else script = name;
  }
  const html = readFileSync(`${PAGE_DIR}index.html`, 'utf8').replace('%STYLE%', `/assets/${style}`).replace('%SCRIPT%', `/assets/${script}`);
  return { html, files };
}
