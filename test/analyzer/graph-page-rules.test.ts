// The panel's rule form (analyzer/http/page/rules.ts), in node: a selector is
// refused before it is sent exactly when the API (validateRule) would refuse
// it, with a message naming the bad key or value and the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateRule } from '../../analyzer/index.ts';
import { parseSelector, ruleId } from '../../analyzer/http/page/rules.ts';

const apiAccepts = (selector: Record<string, string>) => {
  try {
    validateRule({ id: 'r', source: '*', selector });
    return true;
  } catch {
    return false;
  }
};

describe('rule form: label selector', () => {
  it('parses LABEL=VALUE pairs the API takes', () => {
    const accepted: Array<[string, Record<string, string>]> = [
      ['app=payments', { app: 'payments' }],
      [' app = payments ,tier=db, ', { app: 'payments', tier: 'db' }],
      ['app.kubernetes.io/name=cart', { 'app.kubernetes.io/name': 'cart' }],
      ['example.com/Tier_2.x=DB-1.2_a', { 'example.com/Tier_2.x': 'DB-1.2_a' }],
      ['team=', { team: '' }],
      ['app=a,app=a', { app: 'a' }],
      // A key Object.prototype has is still just a key.
      ['constructor=x', { constructor: 'x' }],
      [`${'k'.repeat(63)}=${'v'.repeat(63)}`, { ['k'.repeat(63)]: 'v'.repeat(63) }],
    ];
    for (const [text, selector] of accepted) {
      assert.deepEqual(parseSelector(text), selector, text);
      assert.ok(apiAccepts(parseSelector(text)), `the API takes ${text} too`);
    }
  });

  it('refuses what the API would refuse, naming the bad part and the fix', () => {
    // Shape: not pairs, or not equality (a rule's selector is matchLabels).
    const shape: Array<[string, RegExp]> = [
      ['app', /^label selector: "app" is not LABEL=VALUE \(e\.g\. app=payments; several joined by commas\)$/],
      ['=x', /"=x" is not LABEL=VALUE/],
      [' , ', /give at least one LABEL=VALUE/],
      ['app!=x', /^label selector: "app!=x": only LABEL=VALUE/],
      ['app==x', /"app==x": only LABEL=VALUE/],
      ['app=a,app=b', /^label selector: app is given twice \(app=a, app=b\): keep one$/],
    ];
    for (const [text, message] of shape) assert.throws(() => parseSelector(text), { message }, text);
    // Syntax: the same Kubernetes rules as the API, so the API refuses the pair too.
    const syntax: Array<[string, string, RegExp]> = [
      ['bad key', 'x', /^label selector: key "bad key" is not a Kubernetes label key: the name must be 1 to 63 letters, digits, "-", "_" or "\.", starting and ending with a letter or digit$/],
      ['-app', 'x', /key "-app" is not a Kubernetes label key: the name must be/],
      ['k'.repeat(64), 'x', /key "k{64}" .*1 to 63/],
      ['Example.com/app', 'x', /key "Example\.com\/app" is not a Kubernetes label key: the prefix "Example\.com" must be a DNS subdomain \(lowercase letters/],
      ['a/b/c', 'x', /key "a\/b\/c" .*at most one "\/" \(PREFIX\/NAME, e\.g\. app\.kubernetes\.io\/name\)/],
      ['app', 'bad value!', /^label selector: value "bad value!" of app is not a Kubernetes label value: empty, or up to 63 letters, digits, "-", "_" or "\.", starting and ending with a letter or digit$/],
      ['app', 'x.', /value "x\." of app/],
      ['app', 'v'.repeat(64), /value "v{64}" of app/],
    ];
    for (const [key, value, message] of syntax) {
      assert.throws(() => parseSelector(`${key}=${value}`), { message }, `${key}=${value}`);
      assert.throws(() => parseSelector(`tier=db, ${key}=${value}`), { message }, 'a bad pair after a good one');
      assert.ok(!apiAccepts({ [key]: value }), `the API refuses ${key}=${value} too`);
    }
  });
});

describe('rule form: rule id', () => {
  it('is readable, within 63 characters, and one the API takes', () => {
    assert.equal(ruleId('productpage.default', 'selector', 'app=audit'), 'productpage.default.labels.app-audit');
    assert.equal(ruleId('*.default', 'namespace', 'ops'), 'every.default.ns.ops');
    const long = ruleId('*', 'selector', `app.kubernetes.io/name=${'x'.repeat(60)}`);
    assert.ok(long.length <= 63, long);
    assert.notEqual(long, ruleId('*', 'selector', `app.kubernetes.io/name=${'x'.repeat(61)}`), 'different values, different ids');
    for (const id of [long, ruleId('*', 'namespace', 'ops')]) assert.doesNotThrow(() => validateRule({ id, source: '*', namespace: 'ops' }), id);
  });
});
