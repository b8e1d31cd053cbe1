// The HTTP API through inject(): every endpoint, its filters, validation and
// the admin token, on a real core (in-memory SQLite).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Inventory, parseMesh } from '../../contracts/index.ts';
import { Analyzer } from '../../analyzer/index.ts';
import { buildApp } from '../../analyzer/http/app.ts';
import { FRONTEND, MESH, PAGE, envoyJson, fluentBit, native, vector } from './support/mesh.ts';

const TOKEN = 's3cret-token';

describe('HTTP API (inject)', () => {
  let analyzer: Analyzer;
  let app: FastifyInstance;

  before(async () => {
    analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    app = await buildApp({ analyzer, adminToken: TOKEN });
    const lines = [
      native(PAGE, 'reviews:9080'),
      native(PAGE, 'details.default.svc.cluster.local:9080'),
      envoyJson('10.244.1.7', 'outbound|9080||ratings.default.svc.cluster.local'),
      fluentBit('frontend-0', 'shop', 'cart:7070'),
      vector(native(FRONTEND, 'reviews.default:9080')),
      native(PAGE, 'api.github.com:443'),
      '{"not json',
      '[1,2,3]',
      JSON.stringify({ time: 'yesterday', source: PAGE, authority: 'reviews' }),
      JSON.stringify({ authority: 'reviews:9080' }),
    ].map((l) => (typeof l === 'string' ? l : JSON.stringify(l)));
    const res = await app.inject({ method: 'POST', url: '/api/v1/access-logs', payload: `${lines.join('\n')}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(res.statusCode, 200, res.body);
    const { rejections, ...counts } = res.json();
    assert.deepEqual(counts, { lines: 10, accepted: 5, rejected: 4, unresolved: 1, duplicates: 0, more: '/api/v1/rejected' });
    assert.deepEqual(rejections.map((r: { line: number }) => r.line), [7, 8, 9, 10]);
  });
  after(async () => {
    await app.close();
    await analyzer.close();
  });

  it('serves the graph with every service and the observed edges', async () => {
    const g = (await app.inject('/api/v1/graph')).json();
    assert.equal(g.nodes.length, 7);
    const edges = g.edges.map((e: any) => `${e.source}>${e.target}:${e.attributes.count}`).sort();
    assert.deepEqual(edges, [
      'frontend.shop>cart.shop:1',
      'frontend.shop>reviews.default:1',
      'productpage.default>details.default:1',
      'productpage.default>reviews.default:1',
      'reviews.default>ratings.default:1',
    ]);
    const page = g.nodes.find((n: any) => n.key === 'productpage.default');
    assert.deepEqual(page.attributes.scope, ['details.default', 'reviews.default']);
    assert.equal(g.nodes.find((n: any) => n.key === 'loadgen.shop').attributes.client, true);
  });

  it('filters the graph by namespace, service and since', async () => {
    const ns = (await app.inject('/api/v1/graph?namespace=shop')).json();
    assert.deepEqual(ns.edges.map((e: any) => e.target).sort(), ['cart.shop', 'reviews.default']);
    assert.deepEqual(ns.nodes.map((n: any) => n.key).sort(), ['cart.shop', 'frontend.shop', 'loadgen.shop', 'reviews.default']);
    const svc = (await app.inject('/api/v1/graph?service=reviews.default')).json();
    assert.deepEqual(svc.edges.map((e: any) => e.source).sort(), ['frontend.shop', 'productpage.default', 'reviews.default']);
    const short = (await app.inject('/api/v1/graph?service=cart&namespace=shop')).json();
    assert.deepEqual(short.edges.map((e: any) => `${e.source}>${e.target}`), ['frontend.shop>cart.shop']);
    const future = (await app.inject(`/api/v1/graph?since=${new Date(Date.now() + 3_600_000).toISOString()}`)).json();
    assert.equal(future.edges.length, 0);
    assert.equal((await app.inject('/api/v1/graph?since=1h')).json().edges.length, 5);
    const bad = await app.inject('/api/v1/graph?since=last-tuesday');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /since: "last-tuesday"/);
    assert.equal(bad.json().error, 'Bad Request');
    // Durations are read as everywhere else (analyzer/core/duration.ts): surrounding blanks allowed.
    assert.equal((await app.inject('/api/v1/graph?since=1h%20')).json().edges.length, 5);
    for (const ext of ['dot', 'gexf']) {
      const badExport = await app.inject(`/api/v1/graph.${ext}?since=last-tuesday`);
      assert.equal(badExport.statusCode, 400, ext);
      assert.match(badExport.json().message, /since: "last-tuesday"/);
    }
    assert.equal((await app.inject('/api/v1/graph?color=red')).statusCode, 400);
  });

  it('exports DOT and GEXF', async () => {
    const dot = await app.inject('/api/v1/graph.dot?namespace=shop');
    assert.match(dot.headers['content-type'] as string, /text\/vnd.graphviz/);
    assert.match(dot.body, /"frontend.shop" -> "cart.shop" \[label="1"\];/);
    assert.doesNotMatch(dot.body, /productpage/);
    const gexf = await app.inject('/api/v1/graph.gexf');
    assert.match(gexf.headers['content-type'] as string, /gexf/);
    assert.match(gexf.body, /<gexf[^>]*>/);
    assert.match(gexf.body, /source="productpage.default" target="reviews.default"/);
  });

  it('lists services and shows one with edges, scope and config bytes', async () => {
    const list = (await app.inject('/api/v1/services')).json();
    assert.equal(list.length, 7);
    const rv = list.find((s: any) => s.id === 'reviews.default');
    assert.equal(rv.callers, 2);
    assert.deepEqual(rv.workloads, ['reviews-v1-abc.default', 'reviews-v2-abc.default']);
    const page = (await app.inject('/api/v1/services/default/productpage')).json();
    assert.deepEqual(page.scope, ['details.default', 'reviews.default']);
    assert.deepEqual(page.out.map((e: any) => e.target), ['details.default', 'reviews.default']);
    assert.equal(page.out[0].count, 1);
    assert.equal(page.in.length, 0);
    assert.equal(page.proxies.length, 1);
    assert.equal(page.proxies[0].workload, PAGE);
    assert.ok(page.proxies[0].bytesScoped > 0 && page.proxies[0].bytesScoped < page.proxies[0].bytesFull, JSON.stringify(page.proxies[0]));
    assert.equal((await app.inject('/api/v1/services/default/nope')).statusCode, 404);
    assert.equal((await app.inject('/api/v1/services/Default/UPPER')).statusCode, 400);
  });

  it('keeps unresolved and rejected records, filterable', async () => {
    const un = (await app.inject('/api/v1/unresolved')).json();
    assert.deepEqual(un.map((u: any) => [u.kind, u.key, u.source, u.count]), [['destination', 'api.github.com', 'productpage.default', 1]]);
    assert.equal((await app.inject('/api/v1/unresolved?kind=source')).json().length, 0);
    const rej = (await app.inject('/api/v1/rejected')).json();
    assert.deepEqual(rej.map((r: any) => r.reason).sort(), ['bad-time', 'no-source', 'not-json', 'not-object']);
    const notJson = (await app.inject('/api/v1/rejected?reason=not-json')).json();
    assert.equal(notJson.length, 1);
    assert.match(notJson[0].samples[0].ref, /^http:.+:7$/);
    assert.equal(notJson[0].samples[0].raw, '{"not json');
  });

  it('needs the bearer token to change pins', async () => {
    const url = '/api/v1/services/default/ratings/pins';
    const body = { services: ['details.default'], note: 'batch job calls it monthly' };
    const none = await app.inject({ method: 'PUT', url, payload: body });
    assert.equal(none.statusCode, 401);
    assert.match(none.headers['www-authenticate'] as string, /Bearer/);
    const wrong = await app.inject({ method: 'PUT', url, payload: body, headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(analyzer.scope('ratings.default'), []);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await app.inject({ method: 'PUT', url, payload: body, headers: auth });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().scope, ['details.default']);
    assert.equal(ok.json().pins[0].note, 'batch job calls it monthly');
    const replaced = await app.inject({ method: 'PUT', url, payload: { services: ['productpage.default'] }, headers: auth });
    assert.deepEqual(replaced.json().scope, ['productpage.default']);
    const unknown = await app.inject({ method: 'PUT', url, payload: { services: ['ghost.default'] }, headers: auth });
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().message, /ghost.default/);
    assert.equal((await app.inject({ method: 'PUT', url, payload: { services: 'x' }, headers: auth })).statusCode, 400);
    assert.equal((await app.inject({ method: 'DELETE', url: `${url}/details.default`, headers: auth })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url, headers: {} })).statusCode, 401);
    const cleared = await app.inject({ method: 'DELETE', url, headers: auth });
    assert.deepEqual(cleared.json().scope, []);
  });

  it('matches a configured token that ends in a newline (a token file, a Secret)', async () => {
    const other = await buildApp({ analyzer, adminToken: `${TOKEN}\n` });
    try {
      const url = '/api/v1/services/shop/loadgen/pins';
      const ok = await other.inject({ method: 'PUT', url, payload: { services: [] }, headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.statusCode, 200, ok.body);
      const wrong = await other.inject({ method: 'PUT', url, payload: { services: [] }, headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(wrong.statusCode, 401);
    } finally {
      await other.close();
    }
  });

  it('sets and removes rules, per service and global', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const url = '/api/v1/services/default/details/rules';
    assert.equal((await app.inject({ method: 'PUT', url, payload: { rules: [] } })).statusCode, 401);
    const put = await app.inject({ method: 'PUT', url, headers: auth, payload: { rules: [{ id: 'stars', selector: { team: 'stars' } }] } });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json().scope, ['cart.shop', 'ratings.default']);
    const bad = await app.inject({ method: 'PUT', url, headers: auth, payload: { rules: [{ id: 'both', namespace: 'shop', selector: { a: 'b' } }] } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().message, /exactly one of namespace/);
    const badLabel = await app.inject({ method: 'PUT', url: '/api/v1/rules/labels', headers: auth, payload: { source: '*', selector: { 'bad key!': 'x' } } });
    assert.equal(badLabel.statusCode, 400);
    assert.match(badLabel.json().message, /^rule labels: selector key "bad key!" is not a Kubernetes label key/);
    assert.ok(!analyzer.rules().some((r) => r.id === 'labels'), 'a refused rule is not stored');
    assert.deepEqual(analyzer.scope('details.default'), ['cart.shop', 'ratings.default'], 'a rejected list changes nothing');

    const global = await app.inject({ method: 'PUT', url: '/api/v1/rules/shop-sees-shop', headers: auth, payload: { source: '*.shop', namespace: 'shop' } });
    assert.equal(global.statusCode, 200, global.body);
    assert.deepEqual(analyzer.scope('loadgen.shop'), ['cart.shop', 'frontend.shop']);
    assert.deepEqual((await app.inject('/api/v1/rules')).json().map((r: any) => r.id).sort(), ['shop-sees-shop', 'stars']);
    const detail = (await app.inject('/api/v1/services/shop/loadgen')).json();
    assert.deepEqual(detail.rules.map((r: any) => r.id), ['shop-sees-shop']);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/rules/shop-sees-shop' })).statusCode, 401);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/v1/rules/shop-sees-shop', headers: auth })).statusCode, 204);
    const gone = await app.inject({ method: 'DELETE', url: '/api/v1/rules/shop-sees-shop', headers: auth });
    assert.equal(gone.statusCode, 404);
    assert.match(gone.json().message, /no rule shop-sees-shop; GET \/api\/v1\/rules lists/);
    assert.deepEqual((await app.inject({ method: 'DELETE', url, headers: auth })).json().scope, []);
  });

  it('exports Prometheus metrics', async () => {
    const text = (await app.inject('/metrics')).body;
    assert.match(text, /^meshscope_records_total 10$/m);
    assert.match(text, /^meshscope_records_rejected_total\{reason="not-json"\} 1$/m);
    assert.match(text, /^meshscope_records_unresolved_total\{kind="destination"\} 1$/m);
    assert.match(text, /^meshscope_graph_edges 5$/m);
    assert.match(text, /^meshscope_scope_changes_total \d+$/m);
    assert.match(text, /^# TYPE meshscope_records_total counter$/m);
  });

  it('answers health, readiness, proxies, the page and the OpenAPI document', async () => {
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok' });
    assert.deepEqual((await app.inject('/readyz')).json(), { status: 'ready' });
    assert.deepEqual((await app.inject('/api/v1/proxies')).json(), []);
    const nobody = await app.inject('/api/v1/proxies/nobody');
    assert.equal(nobody.statusCode, 404);
    assert.match(nobody.json().message, /nobody; GET \/api\/v1\/proxies lists/);
    const page = await app.inject('/');
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /<div id="graph">/);
    assert.doesNotMatch(page.body, /(src|href)=["'](?!\/assets\/|data:)/, 'nothing from outside the analyzer: no CDN scripts or styles');
    const docs = await app.inject('/docs/json');
    assert.equal(docs.statusCode, 200);
    const paths = Object.keys(docs.json().paths);
    for (const p of ['/api/v1/graph', '/api/v1/graph.dot', '/api/v1/graph.gexf', '/api/v1/services', '/api/v1/services/{ns}/{name}',
      '/api/v1/services/{ns}/{name}/pins', '/api/v1/services/{ns}/{name}/rules', '/api/v1/proxies', '/api/v1/proxies/{id}',
      '/api/v1/unresolved', '/api/v1/rejected', '/api/v1/access-logs', '/metrics', '/healthz', '/readyz']) {
      assert.ok(paths.includes(p), `${p} in the OpenAPI document`);
    }
    assert.equal((await app.inject('/docs')).statusCode < 400, true);
  });

  it('answers 503 on /readyz while not ready, with the reason', async () => {
    let reason: string | undefined = 'the Kafka consumer has not joined group g yet';
    const other = await buildApp({ analyzer, notReady: () => reason });
    try {
      const res = await other.inject('/readyz');
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { status: 'not ready', reason });
      reason = undefined;
      assert.equal((await other.inject('/readyz')).statusCode, 200);
    } finally {
      await other.close();
    }
  });
});

describe('why each scope entry is there (GET /api/v1/services/:ns/:name)', () => {
  let analyzer: Analyzer;
  let app: FastifyInstance;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    analyzer = Analyzer.open({ inventory: new Inventory(parseMesh(MESH, 'mesh.yaml')) });
    app = await buildApp({ analyzer, adminToken: TOKEN });
  });
  after(async () => {
    await app.close();
    analyzer.close();
  });

  it('gives every entry its reasons: edge, pin, namespace rule, selector rule, and several at once', async () => {
    const seen = native('loadgen-0.shop', 'frontend.shop:8080', { reporter: 'gateway' });
    const ingest = await app.inject({ method: 'POST', url: '/api/v1/access-logs', payload: `${JSON.stringify(seen)}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(ingest.json().accepted, 1, ingest.body);
    const pin = await app.inject({ method: 'PUT', url: '/api/v1/services/shop/loadgen/pins', headers: auth, payload: { services: ['details.default'], note: 'monthly batch' } });
    assert.equal(pin.statusCode, 200, pin.body);
    const ns = await app.inject({ method: 'PUT', url: '/api/v1/rules/loadgen-sees-shop', headers: auth, payload: { source: 'loadgen.shop', namespace: 'shop' } });
    assert.equal(ns.statusCode, 200, ns.body);
    const sel = await app.inject({ method: 'PUT', url: '/api/v1/rules/stars', headers: auth, payload: { source: '*', selector: { team: 'stars' } } });
    assert.equal(sel.statusCode, 200, sel.body);

    const d = (await app.inject('/api/v1/services/shop/loadgen')).json();
    assert.deepEqual(d.scope, ['cart.shop', 'details.default', 'frontend.shop', 'ratings.default']);
    assert.deepEqual(d.why.map((w: any) => w.dest), d.scope, 'one entry per scope entry, in the same order');
    const why = Object.fromEntries(d.why.map((w: any) => [w.dest, w.reasons]));
    const nsRule = { kind: 'rule', rule: 'loadgen-sees-shop', source: 'loadgen.shop', namespace: 'shop' };
    const starsRule = { kind: 'rule', rule: 'stars', source: '*', selector: { team: 'stars' } };
    // frontend.shop: learnt from traffic (through the gateway) and also in the namespace the rule adds.
    const [edge, ...rest] = why['frontend.shop'];
    assert.deepEqual(rest, [nsRule]);
    assert.equal(edge.kind, 'edge');
    assert.deepEqual(edge.reporters, ['gateway']);
    assert.equal(edge.route, 'gateway');
    assert.equal(edge.lastSeen, new Date(Date.parse(seen.time as string)).toISOString());
    assert.equal(Date.parse(edge.expiresAt), analyzer.expiresAt(Date.parse(edge.lastSeen)));
    assert.deepEqual(why['details.default'].map(({ createdAt, ...p }: any) => (assert.ok(Date.parse(createdAt) > 0), p)), [{ kind: 'pin', note: 'monthly batch' }]);
    assert.deepEqual(why['cart.shop'], [nsRule, starsRule], 'both rules that add it');
    assert.deepEqual(why['ratings.default'], [starsRule]);

    // A reason goes with its input: the namespace rule removed, only the edge keeps frontend.shop and only the selector cart.shop.
    await app.inject({ method: 'DELETE', url: '/api/v1/rules/loadgen-sees-shop', headers: auth });
    const after = (await app.inject('/api/v1/services/shop/loadgen')).json();
    assert.deepEqual(after.why.find((w: any) => w.dest === 'frontend.shop').reasons.map((r: any) => r.kind), ['edge']);
    assert.deepEqual(after.why.find((w: any) => w.dest === 'cart.shop').reasons, [starsRule]);
  });
});
