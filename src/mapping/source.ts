import type { SourceConfig } from '../config/schema.ts';
import type { SourceItem } from '../core/connector.ts';
import {
  type CompiledCore,
  compileCore,
  type FieldTrace,
  type MappingDeps,
  mapFields,
  newEnv,
  passes,
} from './compile.ts';

export type SourceMapOutcome =
  | { kind: 'ok'; item: SourceItem }
  /** The filter left the item out: it is not ingested. */
  | { kind: 'skip' }
  | { kind: 'error'; message: string; field?: string };

/** A source's mapping, compiled once at start-up. */
export interface SourceMapping {
  readonly source: string;
  /** Applies the user's fields over the connector's canonical data. Never throws. */
  map(item: SourceItem): Promise<SourceMapOutcome>;
  trace(item: SourceItem): Promise<{ fields: FieldTrace[]; outcome: SourceMapOutcome }>;
}

/** Sets a dot path ("weight.value") in a plain object, creating objects on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): string | undefined {
  const parts = path.split('.');
  let current = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const next = current[part];
    if (next === undefined || next === null) current[part] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      return `cannot set "${path}": "${parts.slice(0, i + 1).join('.')}" is ${Array.isArray(next) ? 'a list' : 'not an object'}`;
    }
    current = current[part] as Record<string, unknown>;
  }
  current[parts.at(-1)!] = value;
  return undefined;
}

/**
 * Compiles a source mapping: expressions see the connector's canonical fields plus `raw`, the
 * object as the system gave it (`raw.Цвет_Key`); field names are canonical dot paths.
 * `extends: none` starts from an empty object instead of the connector's canonical data.
 */
export function compileSourceMapping(
  source: Pick<SourceConfig, 'name' | 'system'>,
  spec: unknown,
  deps: MappingDeps = {},
): SourceMapping {
  const core: CompiledCore = compileCore(`source ${source.name}`, spec ?? {}, deps, source.system, {
    allowTargetPolicies: false,
  });
  const apply = async (item: SourceItem, traces?: FieldTrace[]): Promise<SourceMapOutcome> => {
    const input = { ...item.data, raw: item.raw };
    const env = newEnv(core, { externalId: item.externalId });
    try {
      if (!(await passes(core, input, env))) return { kind: 'skip' };
    } catch (error) {
      return { kind: 'error', message: `${item.externalId}: ${(error as Error).message}`, field: 'filter' };
    }
    const outcome = await mapFields(core, input, env, traces);
    if (outcome.kind === 'error') return { ...outcome, message: `${item.externalId}: ${outcome.message}` };
    if (outcome.kind === 'hold') return { kind: 'error', message: outcome.message, field: outcome.field };
    const data: Record<string, unknown> =
      core.extends === 'none' ? {} : (structuredClone(item.data) as Record<string, unknown>);
    for (const [path, value] of Object.entries(outcome.fields)) {
      const problem = setPath(data, path, value);
      if (problem)
        return {
          kind: 'error',
          message: `${item.externalId}: ${core.where}, field ${path}: ${problem}`,
          field: path,
        };
    }
    return { kind: 'ok', item: { ...item, data, externalId: outcome.externalId ?? item.externalId } };
  };
  return {
    source: source.name,
    map: (item) => apply(item),
    async trace(item) {
      const fields: FieldTrace[] = [];
      const outcome = await apply(item, fields);
      return { fields, outcome };
    },
  };
}
