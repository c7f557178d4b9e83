import type { RouteConfig } from '../config/schema.ts';
import {
  type CompiledCore,
  compileCore,
  type FieldTrace,
  type MapContext,
  type MapOutcome,
  type MappingDeps,
  MappingError,
  type MappingTrace,
  mapFields,
  newEnv,
  passes,
} from './compile.ts';

/** A route's mapping, compiled once at start-up. */
export interface RouteMapping {
  readonly route: string;
  /** 'default': the connector converts first and `fields` override; 'none': only `fields`. */
  readonly extends: 'default' | 'none';
  /** Share of expressions on the fast path (1 = all). */
  readonly fastShare: number;
  /** Does this canonical record go to this route? */
  filter(record: Record<string, unknown>, ctx?: MapContext): Promise<boolean>;
  /** Target-format field overrides (DeliveryItem.fields), or a hold, or an error. Never throws. */
  map(record: Record<string, unknown>, ctx?: MapContext): Promise<MapOutcome>;
  /** Filter and map with a per-field account; writes nothing. */
  trace(record: Record<string, unknown>, ctx?: MapContext): Promise<MappingTrace>;
}

/**
 * Compiles a route mapping (`routes[].mapping`, already loaded when it was a file). Throws a
 * MappingError naming the route, field and expression position on any mistake. A `filter:`
 * on the route itself (routes[].filter) is accepted too, but not both.
 */
export function compileRouteMapping(
  route: Pick<RouteConfig, 'name' | 'target'> & { filter?: string | undefined },
  spec: unknown,
  deps: MappingDeps = {},
): RouteMapping {
  const where = `route ${route.name}`;
  let input = spec ?? {};
  if (route.filter !== undefined) {
    const inner = input as { filter?: unknown };
    if (inner.filter !== undefined) {
      throw new MappingError(
        `${where}: the filter is given twice (routes[].filter and routes[].mapping.filter); keep one`,
      );
    }
    input = { ...(input as object), filter: route.filter };
  }
  const core: CompiledCore = compileCore(where, input, deps, route.target, { allowTargetPolicies: true });
  return {
    route: route.name,
    extends: core.extends,
    fastShare: core.fastShare,
    async filter(record, ctx = {}) {
      return passes(core, record, newEnv(core, ctx));
    },
    map(record, ctx = {}) {
      return mapFields(core, record, newEnv(core, ctx));
    },
    async trace(record, ctx = {}) {
      const env = newEnv(core, ctx);
      let filter: MappingTrace['filter'];
      if (core.filterExpr) {
        try {
          filter = { passed: await passes(core, record, env) };
        } catch (error) {
          filter = { error: (error as Error).message };
        }
      }
      const fields: FieldTrace[] = [];
      const outcome = await mapFields(core, record, env, fields);
      return { filter, fields, outcome };
    },
  };
}
