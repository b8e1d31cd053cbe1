// What the page draws from its model (analyzer/http/page/display.ts), in node:
// time window, expiring and gateway edges, worst error rate kept when edges
// are folded into namespaces, focus neighbourhoods, namespace filter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ViewEdge, ViewNode } from '../../analyzer/http/live-graph.ts';
import { DirectedGraph } from 'graphology';
import { buildDisplay, changesMoreThan, COLORS, FAST_EDGES_ABOVE, FAST_NODES_ABOVE, neighbourhood, syncGraph } from '../../analyzer/http/page/display.ts';
import { Model } from '../../analyzer/http/page/model.ts';
import { parseQuery } from '../../analyzer/http/page/query.ts';
import { readState, writeState } from '../../analyzer/http/page/state.ts';

const NOW = Date.now();
const DAY = 86_400_000;
const node = (id: string): ViewNode => {
  const [name, ns] = id.split('.');
  return { id, name, ns, x: id.length, y: id.charCodeAt(0), scope: 0, workloads: 1 };
};
const edge = (s: string, t: string, over: Partial<ViewEdge> = {}): ViewEdge => ({
  key: `${s}>${t}`, s, t, count: 10, errors: 0, rps: 1, errPct: 0, protocols: ['http'], firstSeen: NOW - DAY, lastSeen: NOW - 1000,
  active: true, expiresAt: NOW - 1000 + 7.7 * DAY, viaGateway: 0, direct: NOW - 1000, reporters: ['envoy'], ...over,
});

function model(): Model {
  const m = new Model();
  m.load({
    version: 1,
    now: NOW,
    bbox: { x: [0, 100], y: [0, 100] },
    nodes: ['a.one', 'b.one', 'c.two', 'd.two', 'e.three'].map(node),
    edges: [
      edge('a.one', 'b.one'),
      edge('a.one', 'c.two', { errPct: 50, errors: 5, rps: 0.1 }),
      edge('b.one', 'd.two', { rps: 20 }),
      edge('b.one', 'c.two', { viaGateway: NOW - 500, direct: NOW - 5000 }),
      // Last seen 7 days ago: a fifth of its TTL left.
      edge('c.two', 'e.three', { lastSeen: NOW - 7 * DAY, expiresAt: NOW + 0.7 * DAY }),
      edge('d.two', 'e.three', { active: false, expiresAt: 0, lastSeen: NOW - 30 * DAY }),
    ],
  });
  return m;
}
const state = (q = '') => readState(q);

describe('graph display', () => {
  it('colours edges: errors over everything, then expiring, gateway; expired ones only under "all"', () => {
    const d = buildDisplay(model(), state(), false, undefined, undefined);
    const color = (k: string) => d.edges.get(k)?.attrs.color;
    assert.equal(color('a.one>c.two'), COLORS.error);
    assert.equal(color('b.one>c.two'), COLORS.gateway);
    assert.equal(color('c.two>e.three'), COLORS.expiring);
    assert.equal(color('d.two>e.three'), COLORS.expired);
    assert.equal(color('a.one>b.one'), COLORS.healthy);
    assert.ok(d.edges.get('b.one>d.two')!.attrs.size > d.edges.get('a.one>b.one')!.attrs.size, 'wider with more rps');
    const week = buildDisplay(model(), state('?window=7d'), false, undefined, undefined);
    assert.equal(week.edges.has('d.two>e.three'), false, 'expired edges are outside any window');
    const hour = buildDisplay(model(), state('?window=1h'), false, undefined, undefined);
    assert.deepEqual([...hour.edges.keys()].sort(), ['a.one>b.one', 'a.one>c.two', 'b.one>c.two', 'b.one>d.two']);
    assert.equal(hour.nodes.has('e.three'), false, 'idle in the window: not drawn');
  });

  it('folds namespaces in the overview: coloured by the rps-weighted error rate, the worst kept for queries; opens one in place', () => {
    const d = buildDisplay(model(), state(), true, undefined, undefined);
    assert.deepEqual([...d.nodes.keys()].sort(), ['ns:one', 'ns:three', 'ns:two']);
    const oneTwo = d.edges.get('ns:one>ns:two')!.attrs;
    // 50% of 0.1 rps among 21.1 rps: 0.24%, so the fold shows its gateway route, not an error.
    assert.deepEqual({ edges: oneTwo.edges, errPct: oneTwo.errPct, color: oneTwo.color, route: oneTwo.route }, { edges: 3, errPct: 50, color: COLORS.gateway, route: 'gateway' });
    const failing = model();
    failing.apply({ version: 2, now: NOW, nodes: [], expired: [], scopes: [], edges: [edge('b.one', 'd.two', { rps: 20, errPct: 10 })] });
    assert.equal(buildDisplay(failing, state(), true, undefined, undefined).edges.get('ns:one>ns:two')!.attrs.color, COLORS.error, '9.5% weighted is red');
    assert.equal(buildDisplay(failing, state(), true, undefined, undefined).nodes.get('ns:two')!.color, COLORS.error, 'so is the namespace answering it');
    assert.equal(d.nodes.get('ns:one')!.members, 2);
    const open = buildDisplay(model(), state('?expanded=one'), true, undefined, undefined);
    assert.deepEqual([...open.nodes.keys()].sort(), ['a.one', 'b.one', 'ns:three', 'ns:two']);
    assert.deepEqual(open.nodes.get('a.one')!.x, node('a.one').x, 'a service keeps its position when its namespace opens');
  });

  it('focus keeps k hops of callees and of callers, not callers of callees', () => {
    const m = model();
    assert.deepEqual([...neighbourhood(m, 'c.two', 1)].sort(), ['a.one', 'b.one', 'c.two', 'e.three']);
    assert.deepEqual([...neighbourhood(m, 'b.one', 1)].sort(), ['a.one', 'b.one', 'c.two', 'd.two']);
    assert.deepEqual([...neighbourhood(m, 'b.one', 2)].sort(), ['a.one', 'b.one', 'c.two', 'd.two', 'e.three']);
    const d = buildDisplay(m, state('?focus=b.one'), true, undefined, undefined);
    assert.deepEqual([...d.nodes.keys()].sort(), ['a.one', 'b.one', 'c.two', 'd.two'], 'focus shows services even in the overview');
  });

  it('a namespace filter keeps its services and the far ends of their edges; find and hide use the query language', () => {
    const d = buildDisplay(model(), state('?ns=three'), false, undefined, undefined);
    assert.deepEqual([...d.nodes.keys()].sort(), ['c.two', 'd.two', 'e.three']);
    const found = buildDisplay(model(), state(), false, parseQuery('err% > 4'), undefined).found!;
    // c.two answers 4.5% errors: its inbound rate, weighted by rps (50% of 0.1 rps, 0% of 1 rps).
    assert.deepEqual([...found].sort(), ['a.one>c.two', 'c.two']);
    const hidden = buildDisplay(model(), state(), false, undefined, parseQuery('ns = two OR gateway'));
    // b.one calls c.two still through the gateway: as a service it answers to `gateway` too.
    assert.deepEqual([...hidden.nodes.keys()].sort(), ['a.one', 'e.three']);
    assert.deepEqual([...hidden.edges.keys()], []);
    const edgesOnly = buildDisplay(model(), state(), false, undefined, parseQuery('rps > 5'));
    assert.equal(edgesOnly.edges.has('b.one>d.two'), false, 'a hidden edge goes');
    assert.equal(edgesOnly.nodes.has('d.two'), false, 'and so does d.two, whose inbound rps is 20');
  });

  it('the URL state round-trips', () => {
    const q = '?find=err%25+%3E+1&hide=ns+%3D+x&window=1h&ns=two&overview=1&expanded=one%2Ctwo&focus=b.one&hops=2&selected=b.one&camera=0.5%2C0.25%2C0.1';
    assert.equal(writeState(readState(q)), q);
    assert.equal(writeState(readState('?window=bogus&hops=99')), '');
  });

  it('draws big views with the cheap programs (points, 1 px lines) and small ones with discs and arrows', () => {
    const small = buildDisplay(model(), state(), false, undefined, undefined);
    assert.deepEqual(new Set([...small.nodes.values()].map((n) => n.type)), new Set(['circle']));
    assert.deepEqual(new Set([...small.edges.values()].map((e) => e.attrs.type)), new Set(['arrow']));
    // A chain of services, one namespace each: as many edges as nodes, above both thresholds.
    const n = Math.max(FAST_NODES_ABOVE, FAST_EDGES_ABOVE) + 2;
    const ids = Array.from({ length: n }, (_, i) => `s${i}.ns${i}`);
    const big = new Model();
    big.load({ version: 1, now: NOW, bbox: { x: [0, 100], y: [0, 100] }, nodes: ids.map(node), edges: ids.map((id, i) => edge(id, ids[(i + 1) % n])) });
    const full = buildDisplay(big, state(), false, undefined, undefined);
    assert.equal(full.nodes.size, n);
    assert.deepEqual(new Set([...full.nodes.values()].map((x) => x.type)), new Set(['point']));
    assert.deepEqual(new Set([...full.edges.values()].map((e) => e.attrs.type)), new Set(['line']));
    // A focus on one of them is small again.
    const focused = buildDisplay(big, state('?focus=s5.ns5'), false, undefined, undefined);
    assert.deepEqual([...focused.nodes.values()].map((x) => x.type), ['circle', 'circle', 'circle']);
    assert.deepEqual([...focused.edges.values()].map((e) => e.attrs.type), ['arrow', 'arrow']);
  });

  it('counts the changes from the drawn graph to a display: added plus dropped', () => {
    const all = buildDisplay(model(), state(), false, undefined, undefined);
    const g = new DirectedGraph({ allowSelfLoops: true });
    syncGraph(g, all);
    assert.equal(changesMoreThan(g, all, 0), false, 'the same: no change');
    const hour = buildDisplay(model(), state('?window=1h'), false, undefined, undefined);
    // e.three and its two edges go: 3 changes.
    assert.deepEqual([changesMoreThan(g, hour, 2), changesMoreThan(g, hour, 3)], [true, false]);
    // Folded into namespaces: 5 services and 6 edges go, 3 namespaces and their 3 edges come.
    const folded = buildDisplay(model(), state(), true, undefined, undefined);
    const changes = g.order + g.size + folded.nodes.size + folded.edges.size;
    assert.deepEqual([changesMoreThan(g, folded, changes - 1), changesMoreThan(g, folded, changes)], [true, false]);
    assert.deepEqual([changesMoreThan(new DirectedGraph(), all, 10), changesMoreThan(new DirectedGraph(), all, 11)], [true, false]);
  });
});
