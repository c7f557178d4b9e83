import { normalizeEmail, normalizeInn, normalizePhone } from '../matching/normalize.ts';
import { convertValue, parseConversion } from './convert.ts';
import type { EvalEnv, HelperFn } from './expression.ts';
import type { LookupTable } from './lookups.ts';

/** The record's context during one map call: which hub object it is and its known ids. */
export interface MapContext {
  recordId?: string;
  /** The record's id in the route's target, when it has one. */
  externalId?: string;
  /** The record's ids by system name, when the caller has them at hand (saves a callback). */
  externalIds?: Readonly<Record<string, string>>;
  /**
   * The record with its references as hub ids (a delivery maps them to the target's ids before
   * the mapping runs), for $externalId(system, 'groupId'); lazy, since few mappings need it.
   */
  hubData?: () => Record<string, unknown>;
}

/** The environment of one map call. */
export interface MappingEnv extends EvalEnv {
  readonly ctx: MapContext;
  /** Fixed once per call, so every $now() of one record agrees. */
  readonly now: number;
}

export interface HelperDeps {
  tables: ReadonlyMap<string, LookupTable>;
  /** Resolves $externalId(system) when ctx.externalIds does not have it. */
  externalId?: (system: string, ctx: MapContext) => string | undefined | Promise<string | undefined>;
  /**
   * Resolves $externalId(system, path): the id in `system` of the object the record's reference
   * field `path` points at (e.g. the 1C Ref_Key of its group). Throws when `path` is no reference.
   */
  refExternalId?: (
    system: string,
    path: string,
    ctx: MapContext,
  ) => string | undefined | Promise<string | undefined>;
}

export const HELPER_NAMES: ReadonlySet<string> = new Set([
  'lookup',
  'reverseLookup',
  'convert',
  'normalizePhone',
  'normalizeEmail',
  'normalizeInn',
  'externalId',
  'now',
]);

function table(deps: HelperDeps, name: unknown, reverse: boolean): LookupTable {
  const found = deps.tables.get(String(name));
  if (!found) {
    const known = [...deps.tables.keys()].join(', ') || 'none';
    throw new Error(`no lookup table "${String(name)}"; tables of this mapping: ${known}`);
  }
  return reverse ? found.reverse() : found;
}

/** The helper functions available inside expressions, as $name(...). */
export function makeHelpers(deps: HelperDeps): Record<string, HelperFn> {
  return {
    lookup: (_env, name, key) => table(deps, name, false).get(key),
    reverseLookup: (_env, name, value) => table(deps, name, true).get(value),
    convert: (_env, value, conversion) => convertValue(value, String(conversion)),
    normalizePhone: (_env, value) => normalizePhone(value),
    normalizeEmail: (_env, value) => normalizeEmail(value),
    normalizeInn: (_env, value) => normalizeInn(value),
    externalId: (env, system, path) => {
      const { ctx } = env as MappingEnv;
      if (path !== undefined) return deps.refExternalId?.(String(system), String(path), ctx);
      const known = ctx.externalIds?.[String(system)];
      if (known !== undefined) return known;
      return deps.externalId?.(String(system), ctx);
    },
    now: (env) => new Date((env as MappingEnv).now).toISOString(),
  };
}

/** Compile-time checks of helper calls with literal arguments: a typo fails at start-up, not at delivery. */
export function checkHelperCall(
  tables: ReadonlyMap<string, LookupTable>,
  call: { name: string; args: Array<{ type: string; value?: unknown }> },
): string | undefined {
  const first = call.args[0];
  if ((call.name === 'lookup' || call.name === 'reverseLookup') && first?.type === 'string') {
    const found = tables.get(String(first.value));
    if (!found) {
      const known = [...tables.keys()].join(', ') || 'none';
      return `$${call.name}: no lookup table "${String(first.value)}" (tables of this mapping: ${known})`;
    }
    if (call.name === 'reverseLookup') {
      try {
        found.reverse();
      } catch (error) {
        return (error as Error).message;
      }
    }
  }
  const second = call.args[1];
  if (call.name === 'convert' && second?.type === 'string') {
    const text = String(second.value);
    try {
      if (text.includes('>') || text.includes('→')) parseConversion(text);
      convertValue(1, text.includes('>') || text.includes('→') ? text : `${text}->${text}`);
    } catch (error) {
      return `$convert: ${(error as Error).message}`;
    }
  }
  return undefined;
}
