// validateRule: label selectors checked as Kubernetes checks label keys and
// values, with a message naming the rule, the key or value and the fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateRule } from '../../analyzer/index.ts';

const rule = (selector: Record<string, unknown>) => ({ id: 'team-rule', source: '*', selector: selector as Record<string, string> });
const n = (c: string, len: number) => c.repeat(len);

test('label selector keys and values are checked as Kubernetes does', () => {
  const accepted: Array<Record<string, string>> = [
    { app: 'payments' },
    { 'app.kubernetes.io/name': 'cart' },
    { 'example.com/Tier_2.x': 'DB-1.2_a' },
    { team: '' },
    { [n('k', 63)]: n('v', 63) },
    { [`${n('a', 63)}.${n('b', 63)}.${n('c', 63)}.${n('d', 61)}/x`]: 'y' },
    { A: 'B', b9: '9' },
  ];
  for (const sel of accepted) assert.doesNotThrow(() => validateRule(rule(sel)), JSON.stringify(sel));

  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'bad key': 'x' }, /rule team-rule: selector key "bad key" is not a Kubernetes label key: the name must be/],
    [{ '-app': 'x' }, /key "-app" .*starting and ending with a letter or digit/],
    [{ 'app.': 'x' }, /key "app\." /],
    [{ [n('k', 64)]: 'x' }, /key "k{64}" .*1 to 63/],
    [{ '': 'x' }, /key "" is not a Kubernetes label key/],
    [{ 'Example.com/app': 'x' }, /key "Example\.com\/app" .*prefix "Example\.com" must be a DNS subdomain/],
    [{ '/app': 'x' }, /prefix "" must be a DNS subdomain/],
    [{ 'a/b/c': 'x' }, /key "a\/b\/c" .*at most one "\/"/],
    [{ 'example.com/': 'x' }, /key "example\.com\/" .*the name must be/],
    [{ [`${n('a', 254)}/x`]: 'y' }, /up to 253 characters/],
    [{ app: 'bad value!' }, /rule team-rule: selector\.app: value "bad value!" is not a Kubernetes label value/],
    [{ app: '-x' }, /value "-x"/],
    [{ app: 'x.' }, /value "x\."/],
    [{ app: n('v', 64) }, /value "v{64}"/],
    [{ app: 3 }, /selector\.app: expected a string label value/],
  ];
  for (const [sel, message] of refused) assert.throws(() => validateRule(rule(sel)), message, JSON.stringify(sel));
});
