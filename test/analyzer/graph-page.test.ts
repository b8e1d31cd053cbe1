// The graph page in real headless Chromium at 10 services: sigma draws it
// (WebGL on SwiftShader), the namespace overview opens in place, find/hide pick
// the right services, the side panel shows scope, config bytes and ACK state,
// a pin set from it reaches the API, a new edge arrives over SSE without a
// reload and moves nothing, the URL restores the view, and a late answer
// cannot undo a filter. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { BenchAdsClient } from '../../bench/xds-ads-client.ts';
import { nodeIdOf } from '../xds/support/ads-proxy.ts';
import { artifact, launchChromium } from './support/chromium.ts';
import { FRONTEND, MESH, PAGE, native, tempMesh, type TempMesh } from './support/mesh.ts';

// The shared 7-service mesh plus three: 10 services in three namespaces.
const MESH10 = `${MESH}  - name: payments
    namespace: shop
    clusterIP: 10.96.1.30
    ports: [{port: 8080}]
    workloads: [{name: payments-0, address: 10.244.2.30, labels: {app: payments}}]
  - name: audit
    namespace: ops
    clusterIP: 10.96.2.10
    ports: [{port: 8080}]
    workloads: [{name: audit-0, address: 10.244.3.10, labels: {app: audit}}]
  - name: metrics-sink
    namespace: ops
    clusterIP: 10.96.2.20
    ports: [{port: 8080}]
    workloads: [{name: metrics-sink-0, address: 10.244.3.20, labels: {app: metrics-sink}}]
`;
const TOKEN = 'page-test-token';
const ALL = ['audit.ops', 'cart.shop', 'details.default', 'frontend.shop', 'loadgen.shop', 'metrics-sink.ops', 'payments.shop', 'productpage.default', 'ratings.default', 'reviews.default'];

type Pos = { x: number; y: number };
declare const meshscope: {
  graph: { nodes(): string[]; edges(): string[]; hasNode(k: string): boolean; hasEdge(k: string): boolean; getEdgeAttributes(k: string): Record<string, unknown>; getNodeAttributes(k: string): Record<string, unknown> };
  display(): { found?: Set<string> };
  state: Record<string, unknown>;
  viewport(id: string): Pos | undefined;
  sigma: { getCamera(): { getState(): { x: number; y: number; ratio: number } }; getNodeDisplayData(k: string): { color: string; label: string } | undefined };
  reload(): Promise<void>;
};

describe('graph page (headless Chromium, 10 services)', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  let browser: Browser;
  let page: Page;
  let ads: BenchAdsClient;
  let base: string;
  const foreign: string[] = [];
  const errors: string[] = [];

  const post = async (records: Array<Record<string, unknown>>) => {
    const res = await fetch(`${base}/api/v1/access-logs`, { method: 'POST', body: records.map((l) => JSON.stringify(l)).join('\n') });
    assert.equal((await res.json()).accepted, records.length);
  };
  const open = async (p: Page, query = '') => {
    const frames = await p.evaluate(() => Number(document.body?.dataset.frame ?? 0)).catch(() => 0);
    await p.goto(`${base}/${query}`);
    await p.waitForFunction(() => performance.getEntriesByName('meshscope:graph-ready').length === 1, undefined, { timeout: 30_000 });
    return frames;
  };
  /** Waits for the page to draw a frame after `fn` (render is one animation frame away). */
  const drawn = async (p: Page, fn: () => Promise<unknown>) => {
    const before = await p.evaluate(() => Number(document.body.dataset.frame ?? 0));
    await fn();
    await p.waitForFunction((n) => Number(document.body.dataset.frame ?? 0) > n, before, { timeout: 10_000 });
  };
  const nodes = (p: Page) => p.evaluate(() => meshscope.graph.nodes().sort());
  const edges = (p: Page) => p.evaluate(() => meshscope.graph.edges().sort());
  const positions = (p: Page) => p.evaluate(() => Object.fromEntries(meshscope.graph.nodes().map((n) => [n, meshscope.viewport(n)!])));
  /** Positions once the camera has stopped moving (a selection may pan it). */
  const settled = async (p: Page) => {
    let last = JSON.stringify(await positions(p));
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const now = JSON.stringify(await positions(p));
      if (now === last) return JSON.parse(now) as Record<string, Pos>;
      last = now;
    }
    throw new Error('the view kept moving for 10 s');
  };
  const click = async (p: Page, id: string, opts: { clickCount?: number; button?: 'right' } = {}) => {
    const at = await p.evaluate((n) => meshscope.viewport(n), id);
    assert.ok(at, `${id} is drawn`);
    await p.mouse.click(at.x, at.y, opts);
  };
  const newPage = async () => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    p.on('request', (r) => {
      if (!r.url().startsWith(`${base}/`) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    return p;
  };

  before(async () => {
    mesh = tempMesh('page', MESH10);
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir, adminToken: TOKEN });
    base = `http://127.0.0.1:${run.httpPort}`;
    await post([
      ...Array.from({ length: 3 }, () => native(PAGE, 'reviews:9080', { reporter: 'envoy' })),
      native(PAGE, 'details:9080', { reporter: 'envoy' }),
      // Every call to ratings fails: that edge must look broken, not healthy.
      native('reviews-v1-abc.default', 'ratings:9080', { code: 503, reporter: 'envoy' }),
      native(FRONTEND, 'cart:7070', { reporter: 'gateway' }),
      native(FRONTEND, 'payments.shop:8080', { reporter: 'envoy' }),
      native('payments-0.shop', 'audit.ops:8080', { reporter: 'envoy' }),
    ]);
    // productpage's sidecar: connected over ADS and ACKing, so the panel has an xDS state to show.
    ads = new BenchAdsClient(nodeIdOf('productpage-v1-abc.default', '10.244.0.5'), `127.0.0.1:${run.xdsPort}`);
    await ads.until((c) => c.settled);
    browser = await launchChromium();
    page = await newPage();
  });
  after(async () => {
    ads?.close();
    await browser?.close();
    await run?.close();
    mesh?.remove();
  });

  it('draws every service and edge with sigma, errors in red, the gateway edge apart', async () => {
    await open(page);
    assert.deepEqual(await nodes(page), ALL);
    assert.deepEqual(await edges(page), [
      'frontend.shop>cart.shop',
      'frontend.shop>payments.shop',
      'payments.shop>audit.ops',
      'productpage.default>details.default',
      'productpage.default>reviews.default',
      'reviews.default>ratings.default',
    ]);
    const color = (k: string) => page.evaluate((key) => meshscope.graph.getEdgeAttributes(key).color as string, k);
    const healthy = await color('productpage.default>details.default');
    assert.equal(await color('reviews.default>ratings.default'), '#e5484d', 'the 503 edge is red');
    assert.equal(await color('frontend.shop>cart.shop'), '#0ea5e9', 'the edge only the gateway carried is marked');
    assert.notEqual(healthy, '#e5484d');
    assert.equal(await page.evaluate(() => meshscope.graph.getNodeAttributes('ratings.default').color), '#e5484d', 'a service answering 503s is red');
    // WebGL really drew: the canvas is not blank where a node is.
    const png = await page.screenshot({ path: artifact('graph-page-10.png') });
    assert.ok(png.length > 5000);
    assert.match((await page.textContent('#stats')) ?? '', /10 of 10 services · 6 edges drawn/);
    assert.deepEqual(foreign, [], 'no request leaves the analyzer');
  });

  it('serves its bundle with cache headers: immutable hashed assets, a revalidated index', async () => {
    const index = await fetch(`${base}/`);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/\/assets\/(main-[A-Z0-9]+\.(?:js|css))/g)].map((m) => m[1]);
    assert.equal(assets.length, 2, html);
    for (const a of assets) {
      const res = await fetch(`${base}/assets/${a}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    const js = await fetch(`${base}/assets/${assets.find((a) => a.endsWith('.js'))}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(js.headers.get('content-encoding'), 'gzip', 'the bundle is compressed');
  });

  it('namespace overview: namespaces as nodes, one opens in place and nothing else moves', async () => {
    await drawn(page, () => page.check('#overview'));
    assert.deepEqual(await nodes(page), ['ns:default', 'ns:ops', 'ns:shop']);
    assert.deepEqual(await edges(page), ['ns:shop>ns:ops']);
    const before = await positions(page);
    await drawn(page, () => click(page, 'ns:shop'));
    assert.deepEqual(await nodes(page), ['cart.shop', 'frontend.shop', 'loadgen.shop', 'ns:default', 'ns:ops', 'payments.shop']);
    assert.deepEqual(await edges(page), ['frontend.shop>cart.shop', 'frontend.shop>payments.shop', 'payments.shop>ns:ops']);
    const after = await positions(page);
    for (const k of ['ns:default', 'ns:ops']) assert.deepEqual(after[k], before[k], `${k} stays put`);
    await page.screenshot({ path: artifact('graph-page-10-overview.png') });
    // Right-click folds it back.
    await drawn(page, () => click(page, 'frontend.shop', { button: 'right' }));
    assert.deepEqual(await nodes(page), ['ns:default', 'ns:ops', 'ns:shop']);
    await drawn(page, () => page.uncheck('#overview'));
    assert.deepEqual(await nodes(page), ALL);
  });

  it('find highlights and hide removes exactly the services the query names', async () => {
    await drawn(page, () => page.fill('#hide', 'ns = shop OR name = audit'));
    assert.deepEqual(await nodes(page), ['details.default', 'metrics-sink.ops', 'productpage.default', 'ratings.default', 'reviews.default']);
    await drawn(page, () => page.fill('#hide', '!ns = default'));
    assert.deepEqual(await nodes(page), ['details.default', 'productpage.default', 'ratings.default', 'reviews.default']);
    await drawn(page, () => page.fill('#hide', ''));
    await drawn(page, () => page.fill('#find', 'err% > 1'));
    assert.deepEqual(await page.evaluate(() => [...meshscope.display().found!].sort()), ['ratings.default', 'reviews.default>ratings.default']);
    await drawn(page, () => page.fill('#find', 'protocol = grpc OR gateway'));
    // No record said grpc; frontend's call to cart went through the gateway: that edge and both its ends.
    assert.deepEqual(await page.evaluate(() => [...meshscope.display().found!].sort()), ['cart.shop', 'frontend.shop', 'frontend.shop>cart.shop']);
    await drawn(page, () => page.fill('#find', 'rps >'));
    assert.equal(await page.getAttribute('#find', 'class'), 'query invalid');
    assert.match((await page.textContent('#notice')) ?? '', /Find: rps > needs a value/);
    await drawn(page, () => page.fill('#find', ''));
    assert.equal(await page.evaluate(() => meshscope.display().found), undefined);
  });

  it('the side panel shows scope with its why, config bytes scoped vs full and the ACK state', async () => {
    await click(page, 'productpage.default');
    await page.waitForSelector('#panel[data-service="productpage.default"] .ack');
    const scope = await page.$$eval('#panel ul[data-list="scope"] li', (els) => els.map((e) => e.getAttribute('data-dest')));
    assert.deepEqual(scope, ['details.default', 'reviews.default']);
    const why = await page.textContent('#panel li[data-dest="reviews.default"] .why');
    assert.match(why ?? '', /^traffic \(envoy\) · last seen \d+s ago · direct · expires in \d+d$/);
    assert.match((await page.textContent('#panel .proxy')) ?? '', /productpage-v1-abc\.default: \d+ clusters, [\d.]+ (B|KiB) scoped \/ [\d.]+ (B|KiB) full/);
    assert.equal(await page.textContent('#panel .ack'), 'ACK');
    const calls = await page.$$eval('#panel table[data-edges="calls"] tr[data-other]', (rows) => rows.map((r) => `${r.getAttribute('data-other')}:${r.children[1].textContent}`));
    assert.deepEqual(calls, ['details.default:1', 'reviews.default:3']);
    await page.screenshot({ path: artifact('graph-page-10-panel.png') });
    // Selected: what it does not call is dimmed; hovering such a node shows it (re-reduced alone), leaving dims it again.
    const shown = () => page.evaluate(() => meshscope.sigma.getNodeDisplayData('audit.ops')!.color);
    const dim = await shown();
    assert.equal(dim, '#e4e7eb');
    const at = (await page.evaluate(() => meshscope.viewport('audit.ops')))!;
    await page.mouse.move(at.x, at.y);
    await page.waitForFunction(() => meshscope.sigma.getNodeDisplayData('audit.ops')!.color !== '#e4e7eb', undefined, { timeout: 5000 });
    await page.mouse.move(5, at.y > 200 ? 100 : 400);
    await page.waitForFunction(() => meshscope.sigma.getNodeDisplayData('audit.ops')!.color === '#e4e7eb', undefined, { timeout: 5000 });
  });

  it('a pin set from the panel asks for the admin token once and reaches the API', async () => {
    await page.fill('#panel [data-pin-input]', 'cart.shop');
    await page.click('#panel [data-action="pin"]');
    await page.waitForSelector('#panel .token:not([hidden]) #admin-token');
    await page.fill('#admin-token', TOKEN);
    await page.click('#panel [data-action="token"]');
    await page.waitForSelector('#panel ul[data-list="pins"] li');
    // Saved: the field is emptied, though the token prompt redrew the panel meanwhile.
    assert.equal(await page.inputValue('#panel [data-pin-input]'), '');
    // The one refused write before the token was given is the only error the page logged.
    assert.deepEqual(errors.splice(0), ['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    const api = await (await fetch(`${base}/api/v1/services/default/productpage`)).json();
    assert.deepEqual(api.pins.map((p: { dest: string }) => p.dest), ['cart.shop']);
    assert.ok(api.scope.includes('cart.shop'));
    // The pin arrives over SSE as an edge of its own colour, and the token stays in the tab only.
    await page.waitForFunction(() => meshscope.graph.hasEdge('productpage.default>cart.shop'), undefined, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => meshscope.graph.getEdgeAttributes('productpage.default>cart.shop').color), '#14b8a6');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('meshscope.adminToken')), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    await page.waitForSelector('#panel li[data-dest="cart.shop"]');
    assert.match((await page.textContent('#panel li[data-dest="cart.shop"] .why')) ?? '', /^pinned \d+s ago$/);
    // A second write needs no prompt.
    await page.click('#panel [data-unpin="cart.shop"]');
    await page.waitForFunction(() => !meshscope.graph.hasEdge('productpage.default>cart.shop'), undefined, { timeout: 10_000 });
    assert.deepEqual((await (await fetch(`${base}/api/v1/services/default/productpage`)).json()).pins, []);
  });

  it('rules of every kind from the panel: a label selector and a namespace reach the API, are listed and deleted; a refused one shows the API\'s message', async () => {
    // productpage's panel is still open and the token was given above: no prompt now.
    type ApiRule = { id: string; source: string; namespace?: string; selector?: Record<string, string>; note?: string };
    const apiRules = async () => ((await (await fetch(`${base}/api/v1/rules`)).json()) as ApiRule[]).map(({ id, source, namespace, selector, note }) => ({ id, source, namespace, selector, note })).sort((a, b) => a.id.localeCompare(b.id));
    const scopeOf = async () => (await (await fetch(`${base}/api/v1/services/default/productpage`)).json()).scope as string[];
    const addRule = async (kind: 'namespace' | 'selector', text: string, source?: string, note?: string) => {
      await page.selectOption('#panel [data-rule-kind]', kind);
      await page.fill('#panel [data-rule-input]', text);
      if (source) await page.selectOption('#panel [data-rule-source]', source);
      await page.fill('#panel [data-rule-note]', note ?? '');
      await page.click('#panel [data-action="rule"]');
    };
    assert.deepEqual(await apiRules(), []);
    assert.ok(!(await scopeOf()).includes('audit.ops'));

    // A label selector for this service: every service with a workload labelled app=audit.
    await addRule('selector', 'app=audit', undefined, 'audit trail');
    await page.waitForSelector('#panel li[data-rule="productpage.default.labels.app-audit"]');
    assert.deepEqual([await page.inputValue('#panel [data-rule-input]'), await page.inputValue('#panel [data-rule-note]')], ['', ''], 'saved: the form is emptied');
    assert.deepEqual(await apiRules(), [{ id: 'productpage.default.labels.app-audit', source: 'productpage.default', namespace: undefined, selector: { app: 'audit' }, note: 'audit trail' }]);
    assert.ok((await scopeOf()).includes('audit.ops'));
    assert.equal(await page.textContent('#panel li[data-rule="productpage.default.labels.app-audit"]'), 'productpage.default.labels.app-audit: labels app=audit · this service · audit trail ✕');
    await page.waitForSelector('#panel li[data-dest="audit.ops"]');
    // The why comes from the analyzer, which matched the labels: the rule named is the one that added it.
    assert.equal(await page.textContent('#panel li[data-dest="audit.ops"] .why'), 'rule productpage.default.labels.app-audit (labels app=audit; this service)');

    // A namespace rule for every service of productpage's namespace.
    await addRule('namespace', 'ops', '*.default');
    await page.waitForSelector('#panel li[data-rule="every.default.ns.ops"]');
    assert.deepEqual((await apiRules()).map((r) => [r.id, r.source, r.namespace, r.selector]), [
      ['every.default.ns.ops', '*.default', 'ops', undefined],
      ['productpage.default.labels.app-audit', 'productpage.default', undefined, { app: 'audit' }],
    ]);
    assert.match((await page.textContent('#panel li[data-rule="every.default.ns.ops"]')) ?? '', /^every\.default\.ns\.ops: namespace ops · every service in default/);
    assert.ok((await scopeOf()).includes('metrics-sink.ops'));
    // audit.ops is now there for two reasons, metrics-sink.ops for the namespace rule only.
    const reasons = (dest: string) => page.$$eval(`#panel li[data-dest="${dest}"] .why [data-reason]`, (els) => els.map((e) => `${e.getAttribute('data-reason')} ${e.getAttribute('data-rule')}`));
    assert.deepEqual(await reasons('audit.ops'), ['rule productpage.default.labels.app-audit', 'rule every.default.ns.ops']);
    assert.deepEqual(await reasons('metrics-sink.ops'), ['rule every.default.ns.ops']);
    assert.equal(await page.textContent('#panel li[data-dest="metrics-sink.ops"] .why'), 'rule every.default.ns.ops (namespace ops; every service in default)');
    await page.screenshot({ path: artifact('graph-page-10-rules.png') });

    // Refused by the API: the panel shows the API's own answer for that rule, and nothing is stored.
    const refused = await fetch(`${base}/api/v1/rules/check`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'productpage.default', namespace: 'Not_A_Namespace' }),
    });
    assert.equal(refused.status, 400);
    const answer = (await refused.json()).message as string;
    assert.match(answer, /namespace/);
    await addRule('namespace', 'Not_A_Namespace', 'productpage.default');
    await page.waitForSelector('#panel [data-message="rule"]');
    assert.equal(await page.textContent('#panel [data-message="rule"]'), `Not saved: ${answer}`);
    assert.equal((await apiRules()).length, 2);
    assert.deepEqual(errors.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    // A selector that is not LABEL=VALUE is caught before it is sent, with the fix in the message.
    await addRule('selector', 'app');
    await page.waitForFunction(() => /"app" is not LABEL=VALUE/.test(document.querySelector('#panel [data-message="rule"]')?.textContent ?? ''));
    // A bad label key or value is refused in the page by the API's own Kubernetes syntax: the message names
    // the bad part and the fix, and no write leaves the page (the API would have answered "Not saved: …").
    const writes: string[] = [];
    const onRequest = (r: Request) => r.url().includes('/api/v1/rules') && r.method() !== 'GET' && writes.push(`${r.method()} ${r.url()}`);
    page.on('request', onRequest);
    const refusedHere = async (text: string, message: string) => {
      await addRule('selector', text);
      await page.waitForFunction((m) => document.querySelector('#panel [data-message="rule"]')?.textContent === m, message, { timeout: 10_000 });
      assert.equal(await page.inputValue('#panel [data-rule-input]'), text, 'kept for fixing');
    };
    await refusedHere('tier=db, Bad Key=x', 'label selector: key "Bad Key" is not a Kubernetes label key: the name must be 1 to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
    await refusedHere('app=audit!', 'label selector: value "audit!" of app is not a Kubernetes label value: empty, or up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit');
    page.off('request', onRequest);
    assert.deepEqual(writes, []);
    assert.equal((await apiRules()).length, 2);

    // Delete, from the list: gone from the API, the panel and the scope.
    await page.click('#panel [data-rule-remove="productpage.default.labels.app-audit"]');
    await page.waitForSelector('#panel li[data-rule="productpage.default.labels.app-audit"]', { state: 'detached' });
    await page.click('#panel [data-rule-remove="every.default.ns.ops"]');
    await page.waitForSelector('#panel li[data-rule="every.default.ns.ops"]', { state: 'detached' });
    assert.deepEqual(await apiRules(), []);
    assert.ok(!(await scopeOf()).includes('audit.ops'));
    assert.equal(await page.$('#panel [data-message="rule"]'), null, 'a successful write clears the error');
    assert.deepEqual(errors, []);
  });

  it('an edge learnt now appears without a reload, and nothing else moves', async () => {
    await page.click('#panel [data-action="close"]');
    await page.waitForFunction(() => !document.querySelector('main')!.classList.contains('panel-open'));
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    const before = await settled(page);
    await post([native('metrics-sink-0.ops', 'details.default:9080', { reporter: 'gateway' })]);
    await page.waitForFunction(() => meshscope.graph.hasEdge('metrics-sink.ops>details.default'), undefined, { timeout: 10_000 });
    const after = await positions(page);
    assert.deepEqual(after, before, 'every node is where it was');
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
    assert.equal(await page.evaluate(() => meshscope.graph.getEdgeAttributes('metrics-sink.ops>details.default').color), '#0ea5e9');
    await page.screenshot({ path: artifact('graph-page-10-live.png') });
  });

  it('the URL carries the view: filters, focus and camera come back on load', async () => {
    // The shared page goes back to the plain view whatever happens here, so a failure does not cascade.
    let restored: Awaited<ReturnType<typeof newPage>> | undefined;
    try {
      await drawn(page, () => page.fill('#find', 'name ~ re'));
      await drawn(page, () => click(page, 'reviews.default', { clickCount: 2 }));
      await page.waitForFunction(() => meshscope.state.focus === 'reviews.default');
      assert.deepEqual(await nodes(page), ['productpage.default', 'ratings.default', 'reviews.default']);
      await drawn(page, () => page.selectOption('#window', '1h'));
      await page.waitForTimeout(0);
      // The camera settles (focus animates it) and is then saved to the URL: wait until the URL holds the camera shown.
      await page.waitForFunction(() => {
        const p = new URLSearchParams(location.search);
        const cam = p.get('camera')?.split(',').map(Number);
        const now = meshscope.sigma.getCamera().getState();
        return p.get('focus') === 'reviews.default' && !!cam && Math.abs(cam[0] - now.x) < 1e-3 && Math.abs(cam[1] - now.y) < 1e-3 && Math.abs(cam[2] - now.ratio) < 1e-3;
      });
      const url = page.url();
      const camera = await page.evaluate(() => meshscope.sigma.getCamera().getState());
      restored = await newPage();
      await open(restored, url.slice(url.indexOf('?')));
      assert.deepEqual(await nodes(restored), ['productpage.default', 'ratings.default', 'reviews.default']);
      assert.equal(await restored.inputValue('#find'), 'name ~ re');
      assert.equal(await restored.inputValue('#window'), '1h');
      assert.equal(await restored.isVisible('#focus-bar'), true);
      const cam = await restored.evaluate(() => meshscope.sigma.getCamera().getState());
      for (const k of ['x', 'y', 'ratio'] as const) assert.ok(Math.abs(cam[k] - camera[k]) < 1e-3, `camera ${k}: ${cam[k]} vs ${camera[k]}`);
    } finally {
      await restored?.close();
      if (await page.isVisible('#focus-bar')) await drawn(page, () => page.click('#focus-clear'));
      if ((await page.inputValue('#find')) !== '') await drawn(page, () => page.fill('#find', ''));
      if ((await page.inputValue('#window')) !== 'all') await drawn(page, () => page.selectOption('#window', 'all'));
    }
  });

  it('a late answer cannot undo a namespace filter or replace a newer graph (the filter race)', async () => {
    await drawn(page, () => page.selectOption('#namespace', 'shop'));
    const shop = ['audit.ops', 'cart.shop', 'frontend.shop', 'loadgen.shop', 'payments.shop'];
    assert.deepEqual(await nodes(page), shop);
    // Two reloads overlap: the first answer is held back and arrives last, holding an older graph.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    await page.route('**/api/v1/graph/view?*', async (route) => {
      const n = ++calls;
      const res = await route.fetch();
      const body = await res.json();
      if (n === 1) {
        await held;
        body.edges = [];
        body.version = 0;
      }
      await route.fulfill({ response: res, json: body });
    });
    const first = page.evaluate(() => meshscope.reload());
    await page.waitForFunction(() => true);
    await drawn(page, () => page.evaluate(() => meshscope.reload()));
    release();
    await first;
    await page.unroute('**/api/v1/graph/view?*');
    assert.equal(calls, 2);
    assert.deepEqual(await nodes(page), shop, 'still filtered to shop');
    assert.ok((await edges(page)).includes('frontend.shop>cart.shop'), 'the newer graph stayed');
    assert.equal(await page.inputValue('#namespace'), 'shop');
    assert.deepEqual(errors, []);
  });

  it('exports the view as PNG and the drawn graph as GEXF and JSON', async () => {
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    const pngFile = artifact('graph-page-10-export.png');
    await png.saveAs(pngFile);
    assert.deepEqual([...readFileSync(pngFile).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const [gexf] = await Promise.all([page.waitForEvent('download'), page.click('#export-gexf')]);
    await gexf.saveAs(artifact('graph-page-10.gexf'));
    const xml = readFileSync(artifact('graph-page-10.gexf'), 'utf8');
    assert.match(xml, /<gexf/);
    assert.match(xml, /frontend\.shop/);
    assert.doesNotMatch(xml, /productpage\.default/, 'only what the namespace filter shows');
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    await json.saveAs(artifact('graph-page-10.json'));
    const g = JSON.parse(readFileSync(artifact('graph-page-10.json'), 'utf8'));
    assert.deepEqual(g.nodes.map((n: { key: string }) => n.key).sort(), ['audit.ops', 'cart.shop', 'frontend.shop', 'loadgen.shop', 'payments.shop']);
  });
});
