// The graph page's find/hide language (analyzer/http/page/query.ts), in node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matches, parseQuery, QueryError, type Subject } from '../../analyzer/http/page/query.ts';

const subject = (over: Partial<Subject> = {}): Subject => ({
  names: ['cart'],
  namespaces: ['shop'],
  rps: 2,
  errPct: 0,
  protocols: ['grpc'],
  gateway: false,
  pinned: false,
  expiring: false,
  ...over,
});
const hit = (q: string, s: Subject) => matches(parseQuery(q)!, s);

describe('graph query', () => {
  it('compares names with wildcards, ~ for contains, case-insensitively', () => {
    assert.equal(hit('name = cart', subject()), true);
    assert.equal(hit('name = CART', subject()), true);
    assert.equal(hit('name = car', subject()), false);
    assert.equal(hit('name = c*t', subject()), true);
    assert.equal(hit('name ~ ar', subject()), true);
    assert.equal(hit('name != cart', subject()), false);
    assert.equal(hit('ar', subject()), true, 'a bare word is a name containing it');
    assert.equal(hit('ns = shop', subject()), true);
    assert.equal(hit('namespace = default', subject()), false);
    assert.equal(hit('name = "cart"', subject()), true);
  });

  it('compares rps and err% as numbers', () => {
    assert.equal(hit('rps > 1', subject()), true);
    assert.equal(hit('rps > 2', subject()), false);
    assert.equal(hit('rps >= 2', subject()), true);
    assert.equal(hit('err% > 5', subject({ errPct: 50 })), true);
    assert.equal(hit('err% > 5', subject({ errPct: 5 })), false);
    assert.equal(hit('err% <= 0', subject()), true);
    assert.equal(hit('protocol = grpc', subject()), true);
    assert.equal(hit('protocol = http', subject()), false);
  });

  it('combines with !, NOT, AND, OR and parentheses (AND binds tighter)', () => {
    assert.equal(hit('!name = cart', subject()), false);
    assert.equal(hit('NOT ns = default', subject()), true);
    assert.equal(hit('ns = shop AND rps > 5', subject()), false);
    assert.equal(hit('ns = shop and rps > 1', subject()), true);
    assert.equal(hit('ns = default OR rps > 1', subject()), true);
    assert.equal(hit('ns = default OR rps > 1 AND err% > 1', subject()), false);
    assert.equal(hit('(ns = default OR rps > 1) AND !(err% > 1)', subject()), true);
    assert.equal(hit('ns = shop && !gateway || pinned', subject({ gateway: true })), false);
  });

  it('has flags for gateway, pinned and expiring edges', () => {
    assert.equal(hit('gateway', subject({ gateway: true })), true);
    assert.equal(hit('pinned', subject()), false);
    assert.equal(hit('expiring OR pinned', subject({ expiring: true })), true);
  });

  it('matches either end of an edge by name', () => {
    const edge = subject({ names: ['frontend', 'cart'], namespaces: ['shop', 'shop'] });
    assert.equal(hit('name = frontend', edge), true);
    assert.equal(hit('name = cart', edge), true);
    assert.equal(hit('name != cart', edge), false);
  });

  it('an empty query is no query', () => {
    assert.equal(parseQuery('   '), undefined);
  });

  it('names what it could not read', () => {
    for (const [q, msg] of [
      ['rps > fast', /rps > fast: a number is expected/],
      ['name > 3', /name takes =, != or ~/],
      ['rps', /rps needs a comparison/],
      ['(name = a', /"\(" is not closed/],
      ['name = a name = b', /unexpected "name" \(join conditions with AND \/ OR\)/],
      ['name =', /name = needs a value/],
      ['AND', /unexpected|condition/],
      ['ns = a AND', /ends where a condition was expected/],
      ['= 3', /unexpected "=" where a condition was expected/],
    ] as const) {
      assert.throws(() => parseQuery(q), (err: Error) => err instanceof QueryError && msg.test(err.message), q);
    }
  });
});
