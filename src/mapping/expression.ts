import jsonata from 'jsonata';

/**
 * JSONata expressions, compiled once, evaluated fast.
 *
 * JSONata 2 evaluates asynchronously and costs 5–15 µs even for `name`; a route mapping of 15
 * fields would then cap delivery near 8,000 records/s — slower than the engine. So each
 * expression is also translated, when it only uses a common subset (paths of plain names,
 * literals, comparisons, and/or, `&`, arithmetic, `in`, `? :`, and the mapping helpers), into a
 * plain synchronous closure. The closure follows JSONata's rules for that subset; wherever
 * JSONata's own semantics would differ — an array met on a path (sequence flattening), a type
 * error, an object compared — it gives up for that one evaluation (BAIL) and the real JSONata
 * evaluation runs. So results are JSONata's; only their cost differs.
 */

/** What the helpers of one evaluation see. */
export interface EvalEnv {
  /** Helper implementations: name → function(env, ...args). */
  readonly helpers: Readonly<Record<string, HelperFn>>;
  /** Filled lazily: JSONata bindings closing over this env. */
  bindings?: Record<string, unknown>;
  /**
   * Asynchronous helper calls the fast path started before handing over to JSONata, by name and
   * arguments: JSONata takes the same promise instead of calling again (one query, not two, and
   * a failure is awaited — never an unhandled rejection).
   */
  started?: Map<string, Promise<unknown>>;
}

const callKey = (name: string, args: readonly unknown[]) => `${name}(${JSON.stringify(args)})`;

export type HelperFn = (env: EvalEnv, ...args: unknown[]) => unknown;

/** A compile-time mistake in a mapping, with the place it was made. */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

export interface CompiledExpression {
  readonly source: string;
  /** True when the fast closure covers the whole expression. */
  readonly fast: boolean;
  evaluate(input: unknown, env: EvalEnv): unknown | Promise<unknown>;
}

const BAIL: unique symbol = Symbol('bail');
type Fast = (input: unknown, env: EvalEnv) => unknown;

interface Node {
  type: string;
  value?: unknown;
  position?: number;
  steps?: Node[];
  lhs?: Node;
  rhs?: Node;
  expression?: Node;
  expressions?: Node[];
  condition?: Node;
  then?: Node;
  else?: Node;
  procedure?: Node;
  arguments?: Node[];
  stages?: unknown[];
  predicate?: unknown;
  group?: unknown;
  focus?: unknown;
  tuple?: unknown;
  index?: unknown;
  keepArray?: boolean;
}

/** Where JSONata says the error is: the token's start (0-based) when it can tell. */
function errorPosition(source: string, error: { position?: number; token?: string }): number | undefined {
  const { position, token } = error;
  if (typeof position !== 'number') return undefined;
  if (token && token !== '(end)' && source.slice(position - token.length, position) === token) {
    return position - token.length;
  }
  return Math.min(position, source.length);
}

/** "expression "stat us" at position 5: Syntax error: "us"" plus a caret line. */
export function describeJsonataError(source: string, error: unknown): { message: string; position?: number } {
  const e = error as { message?: string; position?: number; token?: string };
  const position = errorPosition(source, e);
  const at = position === undefined ? '' : ` at position ${position}`;
  return { message: `expression "${source}"${at}: ${e.message ?? String(error)}`, position };
}

/**
 * Compiles an expression. `where` names the place for errors ("route b24-deals, field
 * STAGE_ID"); `check` may reject function calls (unknown lookup table…) with a MappingError.
 */
export function compileExpression(
  source: string,
  where: string,
  helperNames: ReadonlySet<string>,
  check?: (call: { name: string; args: Node[] }) => string | undefined,
): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source);
  } catch (error) {
    const { message, position } = describeJsonataError(source, error);
    throw new MappingError(`${where}: ${message}`, position);
  }
  const ast = expr.ast() as unknown as Node;
  if (check) {
    walk(ast, (node) => {
      if (node.type !== 'function' || node.procedure?.type !== 'variable') return;
      const problem = check({ name: String(node.procedure.value), args: node.arguments ?? [] });
      if (problem) {
        const position = Math.max(
          0,
          (node.procedure.position ?? 1) - String(node.procedure.value).length - 1,
        );
        throw new MappingError(
          `${where}: expression "${source}" at position ${position}: ${problem}`,
          position,
        );
      }
    });
  }
  const translated = translate(ast, helperNames);
  // A constant list as the whole result is handed out as a copy: callers may change it.
  const fast =
    translated && ast.type === 'unary' && ast.value === '['
      ? (input: unknown, env: EvalEnv) => {
          const result = translated(input, env);
          return Array.isArray(result) ? result.slice() : result;
        }
      : translated;
  const slow = (input: unknown, env: EvalEnv): Promise<unknown> => {
    env.bindings ??= bindingsOf(env);
    return expr.evaluate(input, env.bindings);
  };
  if (!fast) return { source, fast: false, evaluate: slow };
  return {
    source,
    fast: true,
    evaluate(input, env) {
      const result = fast(input, env);
      return result === BAIL ? slow(input, env) : result;
    },
  };
}

function bindingsOf(env: EvalEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(env.helpers)) {
    out[name] = (...args: unknown[]) => {
      const key = env.started === undefined ? undefined : callKey(name, args);
      const started = key === undefined ? undefined : env.started?.get(key);
      if (started !== undefined) {
        env.started!.delete(key!);
        return started;
      }
      return fn(env, ...args);
    };
  }
  return out;
}

function walk(node: unknown, visit: (node: Node) => void): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  const n = node as Node;
  if (typeof n.type === 'string') visit(n);
  for (const value of Object.values(n)) if (value && typeof value === 'object') walk(value, visit);
}

/** JSONata's $boolean, for filter results of any shape. */
export function jsonataBoolean(value: unknown): boolean {
  if (Array.isArray(value)) {
    return value.length === 1 ? jsonataBoolean(value[0]) : value.some((item) => jsonataBoolean(item));
  }
  return truthy(value) === true;
}

/** JSONata's $boolean for the values the fast path lets through (arrays bail before). */
function truthy(value: unknown): boolean | typeof BAIL {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (typeof value === 'number' || typeof value === 'string' || value === true) return true;
  if (Array.isArray(value)) return BAIL;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}

/** JSONata's $string for primitives; objects bail. */
function toText(value: unknown): string | typeof BAIL {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number')
    return Number.isFinite(value) ? JSON.stringify(Number(value.toPrecision(15))) : BAIL;
  if (typeof value === 'boolean' || value === null) return String(value);
  return BAIL;
}

function isPlain(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

function comparable(v: unknown): boolean {
  return v === undefined || typeof v === 'number' || typeof v === 'string';
}

/** Built-in JSONata functions the fast path implements exactly (for the values it accepts). */
const BUILTINS: Record<string, (args: unknown[]) => unknown> = {
  exists: ([v]) => v !== undefined,
  not: ([v]) => {
    if (v === undefined) return undefined;
    const t = truthy(v);
    return t === BAIL ? BAIL : !t;
  },
  string: ([v]) => (v === undefined ? undefined : toText(v)),
  uppercase: ([v]) => (v === undefined ? undefined : typeof v === 'string' ? v.toUpperCase() : BAIL),
  lowercase: ([v]) => (v === undefined ? undefined : typeof v === 'string' ? v.toLowerCase() : BAIL),
};

function translate(node: Node, helpers: ReadonlySet<string>): Fast | undefined {
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value': {
      const value = node.value;
      return () => value;
    }
    case 'path':
      return translatePath(node);
    case 'block':
      return node.expressions?.length === 1 ? translate(node.expressions[0]!, helpers) : undefined;
    case 'condition': {
      const cond = translate(node.condition!, helpers);
      const then = translate(node.then!, helpers);
      const other = node.else ? translate(node.else, helpers) : () => undefined;
      if (!cond || !then || !other) return undefined;
      return (input, env) => {
        const c = cond(input, env);
        if (c === BAIL) return BAIL;
        const t = truthy(c);
        if (t === BAIL) return BAIL;
        return t ? then(input, env) : other(input, env);
      };
    }
    case 'unary':
      return translateUnary(node, helpers);
    case 'binary':
      return translateBinary(node, helpers);
    case 'function':
      return translateCall(node.procedure, node.arguments ?? [], helpers);
    case 'apply': {
      // `x ~> $f(a)` is $f(x, a).
      if (node.rhs?.type !== 'function') return undefined;
      return translateCall(node.rhs.procedure, [node.lhs!, ...(node.rhs.arguments ?? [])], helpers);
    }
    default:
      return undefined;
  }
}

/** `[2]` / `[-1]` after the last step (the first barcode, the last phone), else undefined. */
function constantIndex(step: Node): number | undefined {
  const stages = step.stages as Array<{ type?: string; expr?: Node }> | undefined;
  if (!stages || stages.length !== 1) return undefined;
  const only = stages[0]!;
  if (only.type !== 'filter' || only.expr?.type !== 'number') return undefined;
  const value = only.expr.value as number;
  return Number.isInteger(value) ? value : undefined;
}

function translatePath(node: Node): Fast | undefined {
  const names: string[] = [];
  const steps = node.steps ?? [];
  let index: number | undefined;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const last = i === steps.length - 1;
    if (last && step.stages) {
      index = constantIndex(step);
      if (index === undefined) return undefined;
    }
    const plain =
      step.type === 'name' &&
      (!step.stages || (last && index !== undefined)) &&
      !step.predicate &&
      !step.group &&
      !step.focus &&
      !step.tuple &&
      step.index === undefined &&
      !step.keepArray;
    if (!plain) return undefined;
    names.push(String(step.value));
  }
  if (names.length === 0 || node.keepArray || node.group) return undefined;
  return (input) => {
    let current: unknown = input;
    for (const name of names) {
      if (current === null || typeof current !== 'object') return undefined;
      // A path through an array maps over it and flattens: JSONata's rule, not ours.
      if (Array.isArray(current)) return BAIL;
      if (!Object.hasOwn(current, name)) return undefined;
      current = (current as Record<string, unknown>)[name];
    }
    if (index === undefined) return Array.isArray(current) ? BAIL : current;
    if (current === undefined) return undefined;
    // JSONata treats a single value as a one-item sequence: x[0] and x[-1] are x.
    if (!Array.isArray(current)) return index === 0 || index === -1 ? current : undefined;
    const item = current[index < 0 ? current.length + index : index];
    return Array.isArray(item) ? BAIL : item;
  };
}

function translateUnary(node: Node, helpers: ReadonlySet<string>): Fast | undefined {
  if (node.value === '-') {
    const inner = translate(node.expression!, helpers);
    if (!inner) return undefined;
    return (input, env) => {
      const v = inner(input, env);
      if (v === BAIL || v === undefined) return v;
      return typeof v === 'number' ? -v : BAIL;
    };
  }
  if (node.value === '[') {
    const literals = node.expressions ?? [];
    // ['a', 'b', …] of literals (a filter's group list) is built once, not per record.
    if (
      literals.every(
        (e) => e.type === 'string' || e.type === 'number' || (e.type === 'value' && e.value !== null),
      )
    ) {
      const constant = Object.freeze(literals.map((e) => e.value));
      return () => constant;
    }
    const items = literals.map((e) => translate(e, helpers));
    if (items.some((i) => !i)) return undefined;
    return (input, env) => {
      const out: unknown[] = [];
      for (const item of items as Fast[]) {
        const v = item(input, env);
        if (v === BAIL || Array.isArray(v)) return BAIL;
        if (v !== undefined) out.push(v);
      }
      return out;
    };
  }
  return undefined;
}

function translateBinary(node: Node, helpers: ReadonlySet<string>): Fast | undefined {
  const lhs = translate(node.lhs!, helpers);
  const rhs = translate(node.rhs!, helpers);
  if (!lhs || !rhs) return undefined;
  switch (node.value) {
    case 'and':
    case 'or': {
      const isAnd = node.value === 'and';
      return (input, env) => {
        const l = lhs(input, env);
        if (l === BAIL) return BAIL;
        const lt = truthy(l);
        if (lt === BAIL) return BAIL;
        if (isAnd ? !lt : lt) return lt;
        const r = rhs(input, env);
        if (r === BAIL) return BAIL;
        return truthy(r);
      };
    }
    case '=':
    case '!=': {
      const negate = node.value === '!=';
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (l === BAIL || r === BAIL) return BAIL;
        if (l === undefined || r === undefined) return false;
        if (!isPlain(l) || !isPlain(r)) return BAIL;
        return negate ? l !== r : l === r;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = node.value;
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (l === BAIL || r === BAIL) return BAIL;
        if (!comparable(l) || !comparable(r)) return BAIL;
        if (l === undefined || r === undefined) return undefined;
        if (typeof l !== typeof r) return BAIL;
        const a = l as number | string;
        const b = r as number | string;
        return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
      };
    }
    case '&':
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (l === BAIL || r === BAIL) return BAIL;
        const a = toText(l);
        const b = toText(r);
        if (a === BAIL || b === BAIL) return BAIL;
        return a + b;
      };
    case '+':
    case '-':
    case '*':
    case '/':
    case '%': {
      const op = node.value;
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (l === BAIL || r === BAIL) return BAIL;
        if ((l !== undefined && typeof l !== 'number') || (r !== undefined && typeof r !== 'number'))
          return BAIL;
        if (l === undefined || r === undefined) return undefined;
        const v = op === '+' ? l + r : op === '-' ? l - r : op === '*' ? l * r : op === '/' ? l / r : l % r;
        return Number.isFinite(v) ? v : BAIL;
      };
    }
    case 'in':
      return (input, env) => {
        const l = lhs(input, env);
        const r = rhs(input, env);
        if (l === BAIL || r === BAIL) return BAIL;
        if (l === undefined || r === undefined) return false;
        if (!isPlain(l)) return BAIL;
        const list = Array.isArray(r) ? r : [r];
        for (const item of list) {
          if (!isPlain(item)) return BAIL;
          if (item === l) return true;
        }
        return false;
      };
    default:
      return undefined;
  }
}

function translateCall(
  procedure: Node | undefined,
  argNodes: Node[],
  helpers: ReadonlySet<string>,
): Fast | undefined {
  if (procedure?.type !== 'variable') return undefined;
  const name = String(procedure.value);
  const args = argNodes.map((a) => translate(a, helpers));
  if (args.some((a) => !a)) return undefined;
  const compiled = args as Fast[];
  const evalArgs = (input: unknown, env: EvalEnv): unknown[] | typeof BAIL => {
    const values: unknown[] = [];
    for (const arg of compiled) {
      const v = arg(input, env);
      if (v === BAIL) return BAIL;
      values.push(v);
    }
    return values;
  };
  if (helpers.has(name)) {
    return (input, env) => {
      const values = evalArgs(input, env);
      if (values === BAIL) return BAIL;
      const result = env.helpers[name]!(env, ...values);
      // An asynchronous helper (a directory lookup over HTTP) is JSONata's job: it awaits — the
      // call already started, which JSONata picks up (bindingsOf).
      if (result instanceof Promise) {
        // Marked handled: JSONata's await of the same promise still sees a failure.
        result.catch(() => {});
        env.started ??= new Map();
        env.started.set(callKey(name, values), result);
        return BAIL;
      }
      return result;
    };
  }
  const builtin = BUILTINS[name];
  if (!builtin) return undefined;
  return (input, env) => {
    const values = evalArgs(input, env);
    return values === BAIL ? BAIL : builtin(values);
  };
}
