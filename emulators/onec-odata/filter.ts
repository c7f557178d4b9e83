/**
 * The $filter subset 1C understands and obmen relies on (DOC 17.4.5.2): eq ne gt ge lt le,
 * and or not, parentheses, guid'…', datetime'…', '…' strings with '' escapes, numbers,
 * true/false/null, substringof(s, field), startswith(field, s), endswith(field, s).
 * A parse error is 1C's 400 code 14; an unknown field, 400 code 6 with the name echoed.
 */

export class FilterError extends Error {
  constructor(
    message: string,
    readonly code: '14' | '6',
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'ident'; value: string }
  | { kind: 'literal'; value: unknown; type: 'string' | 'guid' | 'datetime' | 'number' | 'boolean' | 'null' }
  | { kind: 'punct'; value: '(' | ')' | ',' };

export type Expr =
  | { op: 'and' | 'or'; left: Expr; right: Expr }
  | { op: 'not'; expr: Expr }
  | { op: 'cmp'; cmp: string; left: Operand; right: Operand }
  | { op: 'call'; name: string; args: Operand[] };

type Operand = { field: string } | { value: unknown };

const COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['substringof', 'startswith', 'endswith']);
const IDENT = /[\p{L}\p{N}_/]/u;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (): never => {
    throw new FilterError('Error parsing $filter query option', '14');
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', value: c });
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail();
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'literal', value, type: 'string' });
      continue;
    }
    if (/[-\d]/.test(c)) {
      const match = /^-?\d+(?:\.\d+)?/.exec(text.slice(i));
      if (!match) fail();
      tokens.push({ kind: 'literal', value: Number(match![0]), type: 'number' });
      i += match![0].length;
      continue;
    }
    if (IDENT.test(c)) {
      let word = '';
      while (i < text.length && IDENT.test(text[i]!)) word += text[i++];
      if ((word === 'guid' || word === 'datetime') && text[i] === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) fail();
        const raw = text.slice(i + 1, end);
        i = end + 1;
        if (word === 'guid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(raw))
          fail();
        if (word === 'datetime' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(raw)) fail();
        tokens.push({
          kind: 'literal',
          value: word === 'guid' ? raw.toLowerCase() : raw.length === 16 ? `${raw}:00` : raw,
          type: word === 'guid' ? 'guid' : 'datetime',
        });
        continue;
      }
      if (word === 'true' || word === 'false')
        tokens.push({ kind: 'literal', value: word === 'true', type: 'boolean' });
      else if (word === 'null') tokens.push({ kind: 'literal', value: null, type: 'null' });
      else tokens.push({ kind: 'ident', value: word });
      continue;
    }
    fail();
  }
  return tokens;
}

/** Parses a $filter; `fields` are the set's property names (unknown ones are refused like 1C does). */
export function parseFilter(text: string, fields: ReadonlySet<string>): Expr {
  const tokens = tokenize(text);
  let at = 0;
  const fail = (): never => {
    throw new FilterError('Error parsing $filter query option', '14');
  };
  const peek = () => tokens[at];
  const isWord = (word: string) => {
    const token = peek();
    return token?.kind === 'ident' && token.value === word;
  };
  const expectPunct = (value: string) => {
    const token = tokens[at++];
    if (token?.kind !== 'punct' || token.value !== value) fail();
  };

  function operand(): Operand {
    const token = tokens[at++];
    if (!token) return fail();
    if (token.kind === 'literal') return { value: token.value };
    if (token.kind === 'ident') {
      if (!fields.has(token.value)) {
        throw new FilterError(`Сегмент пути ${token.value} не найден!`, '6');
      }
      return { field: token.value };
    }
    return fail();
  }

  function primary(): Expr {
    if (isWord('not')) {
      at++;
      return { op: 'not', expr: primary() };
    }
    const token = peek();
    if (token?.kind === 'punct' && token.value === '(') {
      at++;
      const inner = or();
      expectPunct(')');
      return inner;
    }
    if (token?.kind === 'ident' && FUNCTIONS.has(token.value) && tokens[at + 1]?.kind === 'punct') {
      at++;
      expectPunct('(');
      const args = [operand()];
      expectPunct(',');
      args.push(operand());
      expectPunct(')');
      const call: Expr = { op: 'call', name: token.value, args };
      // `substringof('x', Description) eq true` is the OData v3 idiom: accept the comparison.
      if (isWord('eq') && tokens[at + 1]?.kind === 'literal') {
        at++;
        const wanted = tokens[at++] as { value: unknown };
        return wanted.value === false ? { op: 'not', expr: call } : call;
      }
      return call;
    }
    const left = operand();
    const cmp = peek();
    if (cmp?.kind !== 'ident' || !COMPARE.has(cmp.value)) return fail();
    at++;
    return { op: 'cmp', cmp: cmp.value, left, right: operand() };
  }

  function and(): Expr {
    let left = primary();
    while (isWord('and')) {
      at++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  }

  function or(): Expr {
    let left = and();
    while (isWord('or')) {
      at++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  }

  const expr = or();
  if (at !== tokens.length) fail();
  return expr;
}

function operandValue(operand: Operand, row: Record<string, unknown>): unknown {
  return 'field' in operand ? row[operand.field] : operand.value;
}

/** Compares the way 1C does for these types: GUIDs case-insensitively, Int64 strings as numbers. */
function compare(left: unknown, right: unknown): number | undefined {
  if (left === null || left === undefined || right === null || right === undefined) {
    return left === right || (left ?? null) === (right ?? null) ? 0 : undefined;
  }
  if (typeof left === 'number' || typeof right === 'number') {
    const a = Number(left);
    const b = Number(right);
    return Number.isNaN(a) || Number.isNaN(b) ? undefined : a - b;
  }
  if (typeof left === 'boolean' || typeof right === 'boolean') return left === right ? 0 : left ? 1 : -1;
  const a = String(left).toLowerCase();
  const b = String(right).toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

export function evaluate(expr: Expr, row: Record<string, unknown>): boolean {
  switch (expr.op) {
    case 'and':
      return evaluate(expr.left, row) && evaluate(expr.right, row);
    case 'or':
      return evaluate(expr.left, row) || evaluate(expr.right, row);
    case 'not':
      return !evaluate(expr.expr, row);
    case 'call': {
      const [a, b] = expr.args.map((arg) => String(operandValue(arg, row) ?? '').toLowerCase()) as [
        string,
        string,
      ];
      if (expr.name === 'substringof') return b.includes(a);
      if (expr.name === 'startswith') return a.startsWith(b);
      return a.endsWith(b);
    }
    case 'cmp': {
      const result = compare(operandValue(expr.left, row), operandValue(expr.right, row));
      if (result === undefined) return expr.cmp === 'ne';
      switch (expr.cmp) {
        case 'eq':
          return result === 0;
        case 'ne':
          return result !== 0;
        case 'gt':
          return result > 0;
        case 'ge':
          return result >= 0;
        case 'lt':
          return result < 0;
        default:
          return result <= 0;
      }
    }
  }
}
