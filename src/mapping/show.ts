import type { ObmenConfig, RouteConfig } from '../config/schema.ts';
import { targetDefaults } from '../connectors/registry.ts';
import type { TargetDefaults } from '../core/connector.ts';
import { configError } from '../core/errors.ts';
import { type FilterExit, filterExitOf } from '../engine/filter-exit.ts';
import { MappingError } from './expression.ts';
import { loadMapping } from './load.ts';
import { type FieldRule, type MappingSpec, routeMappingSchema } from './spec.ts';

/**
 * `obmen mapping show <route>` and GET /api/v1/mapping/:route: the route's effective field
 * table — every target field with where its value comes from, the connector's default conversion
 * (published as data by the connector, ConnectorFactory.defaults) or the route mapping's rule,
 * marking the fields the mapping overrides, adds or (with `extends: none`) drops.
 */

export interface EffectiveField {
  /** The field as the target names it. */
  field: string;
  /** The name a mapping's `fields` entry uses for it (differs for CommerceML elements). */
  key: string;
  /** default: the connector's conversion; mapping: the route's rule; dropped: left out by `extends: none`. */
  source: 'default' | 'mapping' | 'dropped';
  /** What gives the value: the default's description, or the mapping's rule as written. */
  rule: string;
  /** Canonical paths the default reads. */
  from?: string[];
  /** The default this mapping rule replaces. */
  overrides?: string;
  /** Kept even with `extends: none`. */
  required?: boolean;
}

export interface EffectiveObject {
  object: string;
  when?: string;
  fields: EffectiveField[];
}

export interface EffectiveMapping {
  route: string;
  entity: string;
  target: string;
  targetKind: string;
  extends: 'default' | 'none';
  filter?: string;
  filterExit: 'deactivate' | 'keep';
  /** What a deletion, and a record leaving the filter, writes to the target. */
  deletion: string;
  /** Whether a record leaving the filter is deactivated there (filterExit and the connector). */
  exitDeactivates: boolean;
  /** What a record leaving the filter becomes there, and why (engine/filter-exit.ts). */
  exit: FilterExit;
  externalId?: string;
  objects: EffectiveObject[];
  /** Mapping fields the default conversion does not write. */
  added: EffectiveField[];
  notes: string[];
}

/** A field rule in one line, as written: the expression or lookup, with its modifiers. */
export function describeRule(spec: string | FieldRule): string {
  const rule: FieldRule = typeof spec === 'string' ? { expr: spec } : spec;
  const parts = [
    rule.lookup !== undefined
      ? `${rule.reverse ? 'reverse ' : ''}lookup ${rule.lookup}[${rule.from ?? ''}]`
      : (rule.expr ?? ''),
  ];
  if (rule.convert) parts.push(`convert ${rule.convert}`);
  if (rule.when) parts.push(`when ${rule.when}`);
  if (rule.default !== undefined) parts.push(`default ${JSON.stringify(rule.default)}`);
  if (rule.missing) parts.push(`missing: ${rule.missing}${rule.directory ? ` (${rule.directory})` : ''}`);
  return parts.join(', ');
}

/**
 * The effective table of one route. `spec` is the route's mapping as loaded (undefined or {} when
 * it has none); `defaults` what its target connector publishes (undefined: nothing).
 */
export function effectiveMapping(
  config: ObmenConfig,
  route: RouteConfig,
  spec: unknown,
  defaults: TargetDefaults | undefined,
): EffectiveMapping {
  const parsed: MappingSpec = routeMappingSchema.parse(spec ?? {});
  const filter = route.filter ?? parsed.filter;
  const filterExit = route.filterExit ?? 'deactivate';
  const userFields = new Map(Object.entries(parsed.fields));
  const used = new Set<string>();
  const notes: string[] = [];
  const without = parsed.extends === 'none';

  const objects: EffectiveObject[] = (defaults?.objects ?? []).map((object) => ({
    object: object.object,
    ...(object.when ? { when: object.when } : {}),
    fields: object.fields.map((d): EffectiveField => {
      const key = d.key ?? d.field;
      const base = {
        field: d.field,
        key,
        ...(d.from.length > 0 ? { from: d.from } : {}),
        ...(d.required ? { required: true } : {}),
      };
      const user = userFields.get(key);
      if (user !== undefined) {
        used.add(key);
        return { ...base, source: 'mapping', rule: describeRule(user), overrides: d.rule };
      }
      if (without && !d.required) return { ...base, source: 'dropped', rule: d.rule };
      return { ...base, source: 'default', rule: d.rule };
    }),
  }));
  const added: EffectiveField[] = [...userFields]
    .filter(([key]) => !used.has(key))
    .map(([key, rule]) => ({ field: key, key, source: 'mapping', rule: describeRule(rule) }));

  if (!defaults) {
    notes.push(
      `the ${config.systems[route.target]?.kind ?? 'unknown'} connector publishes no default conversion for ${route.entity}; "obmen mapping test ${route.name}" shows what a record becomes`,
    );
  } else if (defaults.objects.length === 0) {
    notes.push(
      `the connector's default conversion of ${route.entity} is not published as a table; "obmen mapping test ${route.name}" shows what a record becomes`,
    );
  }
  if (without && defaults && defaults.withoutDefaults !== true) {
    notes.push(`extends: none cannot be honoured: ${defaults.withoutDefaults}`);
  }
  const exit = filterExitOf(config, route, defaults);
  return {
    route: route.name,
    entity: route.entity,
    target: route.target,
    targetKind: config.systems[route.target]?.kind ?? 'unknown',
    extends: parsed.extends,
    ...(filter === undefined ? {} : { filter }),
    filterExit,
    deletion: defaults?.deletion ?? 'as the connector writes a deleted record',
    exitDeactivates: filter !== undefined && exit === 'deactivate',
    exit,
    ...(parsed.externalId === undefined ? {} : { externalId: parsed.externalId }),
    objects,
    added,
    notes,
  };
}

/**
 * The effective table of a configured route (its mapping file read, its target's defaults
 * asked); a config error naming the configured routes when there is no such route.
 */
export function showRouteMapping(config: ObmenConfig, name: string, configDir: string): EffectiveMapping {
  const route = config.routes.find((r) => r.name === name);
  if (!route) {
    const names = config.routes.map((r) => r.name).join(', ') || 'none';
    throw configError(`no route "${name}" in the config; configured routes: ${names}`);
  }
  try {
    const loaded = loadMapping(`route ${name}`, route.mapping, configDir);
    return effectiveMapping(config, route, loaded.spec, targetDefaults(route, config.systems[route.target]));
  } catch (error) {
    if (error instanceof MappingError) throw configError(error.message);
    throw error;
  }
}

const EXIT_KEPT: Record<FilterExit, string> = {
  deactivate: 'kept as it is',
  keep: 'kept as it is (filterExit: keep)',
  'no-deletion': 'kept as it is (the target takes no deletion, below)',
  'own-objects': `kept as it is (the target is a source of the entity too: what is linked there is its own)`,
};

const MARK: Record<EffectiveField['source'], string> = { default: ' ', mapping: '*', dropped: '-' };

/** Plain text for the CLI: one line per target field, `*` marks the mapping's, `-` the dropped. */
export function formatEffectiveMapping(e: EffectiveMapping): string {
  const out: string[] = [
    `route ${e.route}: ${e.entity} → ${e.target} (${e.targetKind}), extends: ${e.extends}`,
  ];
  if (e.filter !== undefined) {
    out.push(`filter: ${e.filter}`);
    out.push(
      `a record the target holds that stops passing: ${
        e.exitDeactivates ? 'written as deleted (filterExit: deactivate), below' : EXIT_KEPT[e.exit]
      }`,
    );
  } else {
    out.push('filter: none (every record goes)');
  }
  out.push(`deletion: ${e.deletion}`);
  if (e.externalId !== undefined) out.push(`externalId: ${e.externalId}`);
  const all = [...e.objects.flatMap((o) => o.fields), ...e.added];
  const name = (f: EffectiveField) => (f.key !== f.field ? `${f.field} (${f.key})` : f.field);
  const width = Math.max(5, ...all.map((f) => name(f).length));
  const line = (f: EffectiveField) => {
    const tail = f.overrides !== undefined ? `   [instead of: ${f.overrides}]` : '';
    const required = f.required && f.source === 'default' ? '   [kept with extends: none]' : '';
    return `${MARK[f.source]} ${name(f).padEnd(width)}  ${f.source.padEnd(7)}  ${f.rule}${tail}${required}`;
  };
  for (const object of e.objects) {
    out.push('');
    out.push(`${object.object}${object.when ? ` (${object.when})` : ''}:`);
    for (const f of object.fields) out.push(line(f));
  }
  if (e.added.length > 0) {
    out.push('');
    out.push('added by the mapping:');
    for (const f of e.added) out.push(line(f));
  }
  if (e.notes.length > 0) out.push('');
  for (const note of e.notes) out.push(`note: ${note}`);
  out.push('');
  out.push('* set by the mapping   - left out by extends: none   (name) = the key a mapping field uses');
  return out.join('\n');
}
