import { dirname } from 'node:path';
import { type Converter, converterFor, parseConversion } from './convert.ts';
import {
  type CompiledExpression,
  compileExpression,
  describeJsonataError,
  jsonataBoolean,
  MappingError,
} from './expression.ts';
import {
  checkHelperCall,
  HELPER_NAMES,
  type HelperDeps,
  type MapContext,
  type MappingEnv,
  makeHelpers,
} from './helpers.ts';
import { type LookupTable, loadLookupTable } from './lookups.ts';
import { type FieldRule, type MappingSpec, type MissingPolicy, routeMappingSchema } from './spec.ts';

export { MappingError } from './expression.ts';
export type { MapContext } from './helpers.ts';

/** What a compiled mapping may call out to; all optional, tests pass fakes. */
export interface MappingDeps {
  /** Folder that lookup-table files are relative to (obmen.yaml's folder). */
  baseDir?: string;
  now?: () => number;
  /** $externalId(system): the record's id in that system (the lead reads the links table). */
  externalId?: HelperDeps['externalId'];
  /** $externalId(system, 'groupId'): the id there of the object a reference field points at. */
  refExternalId?: HelperDeps['refExternalId'];
  /** Whether the target's directory holds a value (fields with `directory` and no lookup). */
  directoryHas?: (directory: string, value: unknown) => boolean | Promise<boolean>;
  /** The target connector's capability for `missing: create`: returns the new value's id. */
  ensureReferenceValue?: (directory: string, value: unknown) => Promise<string>;
}

/** One field's story for `obmen mapping test`. */
export interface FieldTrace {
  field: string;
  /** The rule as written: the expression, or "lookup groups[groupId]". */
  rule: string;
  /** The lookup key or directory value the rule looked at. */
  input?: unknown;
  value?: unknown;
  outcome: 'set' | 'empty' | 'skipped' | 'default' | 'created' | 'hold' | 'error';
  note?: string;
}

export type MapOutcome =
  | { kind: 'ok'; fields: Record<string, unknown>; externalId?: string }
  | { kind: 'hold'; message: string; field: string; value: string }
  | { kind: 'error'; message: string; field?: string };

export interface MappingTrace {
  filter: { passed: boolean } | { error: string } | undefined;
  fields: FieldTrace[];
  outcome: MapOutcome;
}

interface CompiledField {
  name: string;
  rule: string;
  value: CompiledExpression;
  table: LookupTable | undefined;
  convert: Converter | undefined;
  convertText: string | undefined;
  when: CompiledExpression | undefined;
  hasDefault: boolean;
  default: unknown;
  missing: MissingPolicy | undefined;
  directory: string;
  systemLabel: string;
  checkDirectory: boolean;
  /** "field NAME" and "field NAME (when)", built once for error messages. */
  place: string;
  wherePlace: string;
}

/** The parts shared by route and source mappings. */
export interface CompiledCore {
  readonly where: string;
  readonly spec: MappingSpec;
  readonly extends: 'default' | 'none';
  readonly fields: readonly CompiledField[];
  readonly filterExpr: CompiledExpression | undefined;
  readonly externalIdExpr: CompiledExpression | undefined;
  readonly deps: MappingDeps;
  readonly helpers: ReturnType<typeof makeHelpers>;
  /** Share of expressions that run on the fast path (for the benchmark and `mapping test`). */
  readonly fastShare: number;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

/** Parses and compiles a spec; every mistake is a MappingError naming `where` and the field. */
export function compileCore(
  where: string,
  input: unknown,
  deps: MappingDeps,
  targetLabel: string,
  options: { allowTargetPolicies: boolean },
): CompiledCore {
  const parsed = routeMappingSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    throw new MappingError(`${where}: mapping${path ? `.${path}` : ''}: ${issue.message}`);
  }
  const spec = parsed.data;
  const tables = new Map<string, LookupTable>();
  for (const [name, tableSpec] of Object.entries(spec.lookups)) {
    try {
      tables.set(name, loadLookupTable(name, tableSpec, deps.baseDir ?? process.cwd()));
    } catch (error) {
      throw new MappingError(`${where}: ${(error as Error).message}`);
    }
  }
  const check = (call: { name: string; args: Array<{ type: string; value?: unknown }> }) =>
    checkHelperCall(tables, call);
  const expr = (source: string, place: string) =>
    compileExpression(source, `${where}, ${place}`, HELPER_NAMES, check);
  const helpers = makeHelpers({
    tables,
    externalId: deps.externalId,
    refExternalId: deps.refExternalId,
  });

  const fields: CompiledField[] = [];
  for (const [name, fieldSpec] of Object.entries(spec.fields)) {
    const place = `field ${name}`;
    const rule: FieldRule = typeof fieldSpec === 'string' ? { expr: fieldSpec } : fieldSpec;
    const fail = (message: string): never => {
      throw new MappingError(`${where}, ${place}: ${message}`);
    };
    if ((rule.expr === undefined) === (rule.lookup === undefined)) {
      fail('give exactly one of "expr" (an expression) or "lookup" (a table name, with "from")');
    }
    if (rule.lookup !== undefined && rule.from === undefined)
      fail(`"lookup: ${rule.lookup}" needs "from": the expression giving the key`);
    if (rule.lookup === undefined && (rule.from !== undefined || rule.reverse !== undefined)) {
      fail('"from" and "reverse" belong to a lookup field (add "lookup: <table>")');
    }
    let table: LookupTable | undefined;
    if (rule.lookup !== undefined) {
      table = tables.get(rule.lookup);
      if (!table)
        fail(
          `no lookup table "${rule.lookup}" (tables of this mapping: ${[...tables.keys()].join(', ') || 'none'})`,
        );
      if (rule.reverse) {
        try {
          table = table!.reverse();
        } catch (error) {
          fail((error as Error).message);
        }
      }
    }
    if (rule.missing === 'default' && !('default' in rule))
      fail('"missing: default" needs "default": the value to use');
    if (rule.missing && rule.lookup === undefined && rule.directory === undefined) {
      fail(`"missing: ${rule.missing}" needs a lookup table or a "directory" to check the value against`);
    }
    if (rule.missing === 'create' && !deps.ensureReferenceValue) {
      fail(
        `"missing: create" needs a target that can create directory values, and ${targetLabel}'s connector cannot; use hold or default`,
      );
    }
    if (!options.allowTargetPolicies && (rule.missing === 'hold' || rule.missing === 'create')) {
      fail(
        `"missing: ${rule.missing}" applies to routes (a target system); a source mapping can use "missing: default"`,
      );
    }
    const checkDirectory =
      rule.lookup === undefined && rule.directory !== undefined && rule.missing !== undefined;
    if (checkDirectory && !deps.directoryHas) {
      fail(
        `"directory: ${rule.directory}" needs a target that can tell whether a value exists; ${targetLabel}'s connector cannot`,
      );
    }
    let convert: Converter | undefined;
    if (rule.convert !== undefined) {
      try {
        const { from, to } = parseConversion(rule.convert);
        convert = converterFor(from, to);
      } catch (error) {
        fail(`convert: ${(error as Error).message}`);
      }
    }
    const source = rule.lookup !== undefined ? rule.from! : rule.expr!;
    fields.push({
      name,
      rule:
        rule.lookup !== undefined
          ? `${rule.reverse ? 'reverse ' : ''}lookup ${rule.lookup}[${source}]`
          : source,
      value: expr(source, place),
      table,
      convert,
      convertText: rule.convert,
      when: rule.when === undefined ? undefined : expr(rule.when, `${place} (when)`),
      hasDefault: 'default' in rule && rule.default !== undefined,
      default: rule.default,
      missing: rule.missing,
      directory: rule.directory ?? rule.lookup ?? name,
      systemLabel: rule.system ?? targetLabel,
      checkDirectory,
      place,
      wherePlace: `${place} (when)`,
    });
  }
  const filterExpr = spec.filter === undefined ? undefined : expr(spec.filter, 'filter');
  const externalIdExpr = spec.externalId === undefined ? undefined : expr(spec.externalId, 'externalId');
  const all = [
    ...fields.flatMap((f) => (f.when ? [f.value, f.when] : [f.value])),
    ...(filterExpr ? [filterExpr] : []),
    ...(externalIdExpr ? [externalIdExpr] : []),
  ];
  return {
    where,
    spec,
    extends: spec.extends,
    fields,
    filterExpr,
    externalIdExpr,
    deps,
    helpers,
    fastShare: all.length === 0 ? 1 : all.filter((e) => e.fast).length / all.length,
  };
}

export function newEnv(core: CompiledCore, ctx: MapContext): MappingEnv {
  return { helpers: core.helpers, ctx, now: (core.deps.now ?? Date.now)() };
}

function runFailure(core: CompiledCore, compiled: CompiledExpression, place: string, error: unknown): never {
  if (error instanceof MappingError) throw error;
  const { message } = describeJsonataError(compiled.source, error);
  throw new MappingError(`${core.where}, ${place}: ${message}`);
}

/**
 * Runs an expression, turning a JSONata failure into the mapping's error message.
 * NOTE: the per-record path creates no named closures: tsx (esbuild keepNames) wraps each in
 * a defineProperty call, which measured at ~1.5 µs per field.
 */
function run(
  core: CompiledCore,
  compiled: CompiledExpression,
  place: string,
  input: unknown,
  env: MappingEnv,
): unknown {
  try {
    const result = compiled.evaluate(input, env);
    return result instanceof Promise
      ? result.catch((error: unknown) => runFailure(core, compiled, place, error))
      : result;
  } catch (error) {
    return runFailure(core, compiled, place, error);
  }
}

/** Evaluates the filter: does this record go through? Throws a MappingError when the expression fails. */
export function passes(core: CompiledCore, input: unknown, env: MappingEnv): boolean | Promise<boolean> {
  if (!core.filterExpr) return true;
  const result = run(core, core.filterExpr, 'filter', input, env);
  return result instanceof Promise ? result.then(jsonataBoolean) : jsonataBoolean(result);
}

type FieldResult =
  | { kind: 'set'; value: unknown }
  | { kind: 'skip' }
  | { kind: 'hold'; message: string; value: string }
  | { kind: 'error'; message: string };

function holdMessage(field: CompiledField, value: unknown): string {
  return `значение «${String(value)}» отсутствует в справочнике «${field.directory}» системы ${field.systemLabel}`;
}

/** The value is not in the target's directory: apply the field's policy. */
function onMissing(
  core: CompiledCore,
  field: CompiledField,
  value: unknown,
  trace: FieldTrace | undefined,
): FieldResult | Promise<FieldResult> {
  switch (field.missing) {
    case 'hold': {
      const message = holdMessage(field, value);
      if (trace) Object.assign(trace, { outcome: 'hold', note: message });
      return { kind: 'hold', message, value: String(value) };
    }
    case 'default':
      if (trace)
        Object.assign(trace, {
          outcome: 'default',
          value: field.default,
          note: `«${String(value)}» is unknown`,
        });
      return { kind: 'set', value: field.default };
    case 'create':
      return core.deps.ensureReferenceValue!(field.directory, value).then(
        (id): FieldResult => {
          if (trace)
            Object.assign(trace, {
              outcome: 'created',
              value: id,
              note: `«${String(value)}» created in «${field.directory}»`,
            });
          return { kind: 'set', value: id };
        },
        (error: unknown): FieldResult => {
          const message = `${core.where}, field ${field.name}: cannot create «${String(value)}» in «${field.directory}» of ${field.systemLabel}: ${(error as Error).message}`;
          if (trace) Object.assign(trace, { outcome: 'error', note: message });
          return { kind: 'error', message };
        },
      );
    default: {
      const message = `${core.where}, field ${field.name}: «${String(value)}» is not in lookup table "${field.directory}"; add it to the table or set "missing: hold", "missing: default" or "missing: create"`;
      if (trace) Object.assign(trace, { outcome: 'error', note: message });
      return { kind: 'error', message };
    }
  }
}

function settle(field: CompiledField, raw: unknown, trace: FieldTrace | undefined): FieldResult {
  if (isEmpty(raw)) {
    if (field.hasDefault) {
      if (trace) Object.assign(trace, { outcome: 'default', value: field.default, note: 'empty value' });
      return { kind: 'set', value: field.default };
    }
    if (trace) trace.outcome = 'empty';
    return { kind: 'skip' };
  }
  if (trace) Object.assign(trace, { outcome: 'set', value: raw });
  return { kind: 'set', value: raw };
}

function afterValue(
  core: CompiledCore,
  field: CompiledField,
  value: unknown,
  trace: FieldTrace | undefined,
): FieldResult | Promise<FieldResult> {
  if (field.table) {
    if (trace) trace.input = value;
    if (isEmpty(value)) return settle(field, undefined, trace);
    if (!field.table.has(value)) return onMissing(core, field, value, trace);
    return settle(field, field.table.get(value), trace);
  }
  let converted = value;
  if (field.convert && !isEmpty(value)) {
    const number = typeof value === 'string' ? Number(value.replace(',', '.')) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      const message = `${core.where}, field ${field.name}: ${JSON.stringify(value)} is not a number, cannot convert ${field.convertText}`;
      if (trace) Object.assign(trace, { outcome: 'error', note: message });
      return { kind: 'error', message };
    }
    converted = field.convert(number);
  }
  if (field.checkDirectory && !isEmpty(converted)) {
    if (trace) trace.input = converted;
    const exists = core.deps.directoryHas!(field.directory, converted);
    return exists instanceof Promise
      ? exists.then((found) =>
          found ? settle(field, converted, trace) : onMissing(core, field, converted, trace),
        )
      : exists
        ? settle(field, converted, trace)
        : onMissing(core, field, converted, trace);
  }
  return settle(field, converted, trace);
}

function computeField(
  core: CompiledCore,
  field: CompiledField,
  input: unknown,
  env: MappingEnv,
  trace: FieldTrace | undefined,
): FieldResult | Promise<FieldResult> {
  const value = run(core, field.value, field.place, input, env);
  return value instanceof Promise
    ? value.then((v) => afterValue(core, field, v, trace))
    : afterValue(core, field, value, trace);
}

function whenFalse(trace: FieldTrace | undefined): FieldResult {
  if (trace) Object.assign(trace, { outcome: 'skipped', note: 'condition (when) is false' });
  return { kind: 'skip' };
}

function evalField(
  core: CompiledCore,
  field: CompiledField,
  input: unknown,
  env: MappingEnv,
  trace: FieldTrace | undefined,
): FieldResult | Promise<FieldResult> {
  if (!field.when) return computeField(core, field, input, env, trace);
  const condition = run(core, field.when, field.wherePlace, input, env);
  if (condition instanceof Promise) {
    return condition.then((c) =>
      jsonataBoolean(c) ? computeField(core, field, input, env, trace) : whenFalse(trace),
    );
  }
  return jsonataBoolean(condition) ? computeField(core, field, input, env, trace) : whenFalse(trace);
}

/**
 * Maps one input to fields. Synchronous fields stay synchronous (no microtask per field):
 * at 100,000 records × 15 fields the awaits alone would cost more than the work.
 */
export async function mapFields(
  core: CompiledCore,
  input: unknown,
  env: MappingEnv,
  traces?: FieldTrace[],
): Promise<MapOutcome> {
  const fields: Record<string, unknown> = {};
  let hold: Extract<MapOutcome, { kind: 'hold' }> | undefined;
  let error: Extract<MapOutcome, { kind: 'error' }> | undefined;
  for (const field of core.fields) {
    const trace: FieldTrace | undefined = traces
      ? { field: field.name, rule: field.rule, outcome: 'empty' }
      : undefined;
    if (trace) traces!.push(trace);
    let result: FieldResult;
    try {
      const pending = evalField(core, field, input, env, trace);
      result = pending instanceof Promise ? await pending : pending;
    } catch (thrown) {
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      result = {
        kind: 'error',
        message: thrown instanceof MappingError ? message : `${core.where}, field ${field.name}: ${message}`,
      };
      if (trace) Object.assign(trace, { outcome: 'error', note: result.message });
    }
    if (result.kind === 'set') fields[field.name] = result.value;
    else if (result.kind === 'hold')
      hold ??= { kind: 'hold', message: result.message, field: field.name, value: result.value };
    else if (result.kind === 'error') error ??= { kind: 'error', message: result.message, field: field.name };
    // Without a trace to fill, the first error decides the outcome: stop early.
    if (error && !traces) return error;
  }
  if (error) return error;
  if (hold) return hold;
  if (!core.externalIdExpr) return { kind: 'ok', fields };
  try {
    const pending = run(core, core.externalIdExpr, 'externalId', input, env);
    const id = pending instanceof Promise ? await pending : pending;
    if (isEmpty(id)) {
      return {
        kind: 'error',
        message: `${core.where}, externalId: expression "${core.externalIdExpr.source}" gave no value for this record`,
      };
    }
    return { kind: 'ok', fields, externalId: typeof id === 'string' ? id : JSON.stringify(id) };
  } catch (thrown) {
    return { kind: 'error', message: (thrown as Error).message, field: 'externalId' };
  }
}

export function baseDirOf(configFile: string | undefined): string | undefined {
  return configFile ? dirname(configFile) : undefined;
}
