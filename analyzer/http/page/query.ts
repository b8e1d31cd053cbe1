// The find/hide query language, in the spirit of Kiali's:
//   name = cart*   ns != kube-system   rps > 5   err% >= 1   protocol = grpc
//   gateway   pinned   expiring   !  NOT  AND  OR  ( )   bare-word (name contains)
// String comparisons ignore case; `=` / `!=` take `*` wildcards, `~` means
// contains. Evaluated against a node (its own traffic in and out) or an edge
// (its own traffic; name and ns match either end). Pure: unit-tested in node.

export interface Subject {
  /** Names and namespaces this subject answers to (an edge: both ends). */
  names: readonly string[];
  namespaces: readonly string[];
  rps: number;
  errPct: number;
  protocols: readonly string[];
  gateway: boolean;
  pinned: boolean;
  expiring: boolean;
}

export type Query =
  | { op: 'and' | 'or'; left: Query; right: Query }
  | { op: 'not'; inner: Query }
  | { op: 'cmp'; field: Field; cmp: Cmp; value: string }
  | { op: 'flag'; flag: Flag };

type Field = 'name' | 'ns' | 'rps' | 'err%' | 'protocol';
type Cmp = '=' | '!=' | '~' | '>' | '>=' | '<' | '<=';
type Flag = 'gateway' | 'pinned' | 'expiring';

const FIELDS: Record<string, Field> = { name: 'name', service: 'name', ns: 'ns', namespace: 'ns', rps: 'rps', 'err%': 'err%', error: 'err%', errors: 'err%', protocol: 'protocol', proto: 'protocol' };
const FLAGS: Record<string, Flag> = { gateway: 'gateway', pinned: 'pinned', expiring: 'expiring' };
const NUMERIC = new Set<Field>(['rps', 'err%']);
const CMPS: readonly string[] = ['=', '!=', '~', '>', '>=', '<', '<='];

export class QueryError extends Error {}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(\(|\)|!=|>=|<=|=|~|>|<|!|&&|\|\||"[^"]*"|[^\s()!=<>~"&|]+)/y;
  let at = 0;
  while (at < text.length) {
    if (text.slice(at).trim() === '') break;
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new QueryError(`cannot read "${text.slice(at).trim()}"`);
    tokens.push(m[1]);
    at = re.lastIndex;
  }
  return tokens;
}

const unquote = (t: string): string => (t.startsWith('"') ? t.slice(1, -1) : t);

/** Parses a query; an empty one is undefined. Throws QueryError naming what it could not read. */
export function parseQuery(text: string): Query | undefined {
  const tokens = tokenize(text);
  if (tokens.length === 0) return undefined;
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const keyword = (): string | undefined => tokens[i]?.toUpperCase();
  const or = (): Query => {
    let left = and();
    while (keyword() === 'OR' || peek() === '||') {
      i++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Query => {
    let left = unary();
    while (keyword() === 'AND' || peek() === '&&') {
      i++;
      left = { op: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): Query => {
    const t = peek();
    if (t === undefined) throw new QueryError('the query ends where a condition was expected');
    if (t === '!' || t.toUpperCase() === 'NOT') {
      i++;
      return { op: 'not', inner: unary() };
    }
    if (t === '(') {
      i++;
      const inner = or();
      if (peek() !== ')') throw new QueryError('a "(" is not closed');
      i++;
      return inner;
    }
    return condition();
  };
  const condition = (): Query => {
    const word = tokens[i++];
    if (word === ')' || CMPS.includes(word) || ['AND', 'OR', '&&', '||'].includes(word.toUpperCase())) throw new QueryError(`unexpected "${word}" where a condition was expected`);
    const field = FIELDS[word.toLowerCase()];
    const cmp = peek();
    if (field && cmp !== undefined && CMPS.includes(cmp)) {
      i++;
      const raw = tokens[i++];
      if (raw === undefined || raw === ')' || raw === '(') throw new QueryError(`${word} ${cmp} needs a value`);
      const value = unquote(raw);
      if (NUMERIC.has(field)) {
        if (cmp === '~') throw new QueryError(`${word} takes =, !=, >, >=, <, <=, not ~`);
        if (value === '' || !Number.isFinite(Number(value))) throw new QueryError(`${word} ${cmp} ${value}: a number is expected`);
      } else if (!['=', '!=', '~'].includes(cmp)) throw new QueryError(`${word} takes =, != or ~ (contains), not ${cmp}`);
      return { op: 'cmp', field, cmp: cmp as Cmp, value };
    }
    const flag = FLAGS[word.toLowerCase()];
    if (flag) return { op: 'flag', flag };
    if (field) throw new QueryError(`${word} needs a comparison, e.g. ${word} ${NUMERIC.has(field) ? '> 1' : '= value'}`);
    // A bare word: a name containing it.
    return { op: 'cmp', field: 'name', cmp: '~', value: unquote(word) };
  };
  const q = or();
  if (i < tokens.length) throw new QueryError(`unexpected "${tokens[i]}" (join conditions with AND / OR)`);
  return q;
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
}

function matchText(values: readonly string[], cmp: Cmp, value: string): boolean {
  if (cmp === '~') {
    const v = value.toLowerCase();
    return values.some((x) => x.toLowerCase().includes(v));
  }
  const re = glob(value);
  const any = values.some((x) => re.test(x));
  return cmp === '=' ? any : !any;
}

function matchNumber(x: number, cmp: Cmp, value: string): boolean {
  const v = Number(value);
  switch (cmp) {
    case '=':
      return x === v;
    case '!=':
      return x !== v;
    case '>':
      return x > v;
    case '>=':
      return x >= v;
    case '<':
      return x < v;
    default:
      return x <= v;
  }
}

export function matches(q: Query, s: Subject): boolean {
  switch (q.op) {
    case 'and':
      return matches(q.left, s) && matches(q.right, s);
    case 'or':
      return matches(q.left, s) || matches(q.right, s);
    case 'not':
      return !matches(q.inner, s);
    case 'flag':
      return s[q.flag];
    case 'cmp':
      if (q.field === 'name') return matchText(s.names, q.cmp, q.value);
      if (q.field === 'ns') return matchText(s.namespaces, q.cmp, q.value);
      if (q.field === 'protocol') return matchText(s.protocols, q.cmp, q.value);
      return matchNumber(q.field === 'rps' ? s.rps : s.errPct, q.cmp, q.value);
  }
}
