import type { Logger } from 'pino';
import type { RouteConfig, SourceConfig } from '../config/schema.ts';
import type { Connector, SourceItem, TargetDefaults } from '../core/connector.ts';
import type { EntityRegistry } from '../core/entities/index.ts';
import { configError } from '../core/errors.ts';
import type { MapContext, MappingDeps } from '../mapping/compile.ts';
import { MappingError } from '../mapping/expression.ts';
import { loadMapping } from '../mapping/load.ts';
import { refExternalIdResolver } from '../mapping/ref-ids.ts';
import { compileRouteMapping, type RouteMapping } from '../mapping/route.ts';
import { compileSourceMapping, type SourceMapping } from '../mapping/source.ts';
import { recordMappingVersion, routeMappingName } from '../mapping/versions.ts';
import { resolveHold } from '../matching/holds.ts';
import type { Store } from '../store/store.ts';
import { retryFailures } from './operations.ts';

/** The name a source's mapping versions are stored under (routes use routeMappingName). */
export const sourceMappingName = (source: string) => `source:${source}`;

/** A mapping's effective content, kept to record its version once the store is reachable. */
export interface MappingSpecEntry {
  /** `route:<name>` or `source:<name>`. */
  name: string;
  /** The route or source it belongs to, for the replay hint. */
  owner: { kind: 'route' | 'source'; name: string };
  spec: unknown;
}

/** A MappingError at start-up is a configuration mistake: the process must not start. */
function asConfigError(error: unknown): never {
  if (error instanceof MappingError) throw configError(error.message);
  throw error;
}

/** The hub-side services a mapping may call: the target's directory and the links table. */
function mappingDeps(
  store: Store,
  entity: string,
  connector: Connector | undefined,
  baseDir: string,
): MappingDeps {
  const deps: MappingDeps = {
    baseDir,
    // $externalId('system'): the record's id there, from the links table (one query per call;
    // only mappings that use the helper pay for it).
    externalId: async (system: string, ctx: MapContext) => {
      if (ctx.recordId === undefined) return undefined;
      const row = await store.db
        .selectFrom('links')
        .select('external_id')
        .where('entity', '=', entity)
        .where('system', '=', system)
        .where('record_id', '=', ctx.recordId)
        .executeTakeFirst();
      return row?.external_id;
    },
  };
  if (connector?.hasReferenceValue) {
    const has = connector.hasReferenceValue.bind(connector);
    deps.directoryHas = (directory, value) => has(directory, String(value));
  }
  if (connector?.ensureReferenceValue) {
    const ensure = connector.ensureReferenceValue.bind(connector);
    deps.ensureReferenceValue = (directory, value) => ensure(directory, String(value));
  }
  return deps;
}

/**
 * Compiles a route's mapping (routes[].mapping and/or routes[].filter) against its target
 * connector; undefined when the route has neither, so unmapped routes cost nothing.
 * Throws a config ObmenError naming the route on any mistake.
 */
export function buildRouteMapping(
  route: RouteConfig,
  connector: Connector,
  store: Store,
  configDir: string,
  defaults?: TargetDefaults,
  registry?: EntityRegistry,
): { mapping: RouteMapping; entry: MappingSpecEntry } | undefined {
  if (route.mapping === undefined && route.filter === undefined) return undefined;
  try {
    const loaded = loadMapping(`route ${route.name}`, route.mapping, configDir);
    const deps = mappingDeps(store, route.entity, connector, loaded.baseDir);
    if (registry) deps.refExternalId = refExternalIdResolver(store, registry, route.entity);
    const mapping = compileRouteMapping(route, loaded.spec, deps);
    if (mapping.extends === 'none') checkWithoutDefaults(route, defaults);
    const spec =
      route.filter === undefined ? loaded.spec : { ...(loaded.spec as object), filter: route.filter };
    return {
      mapping,
      entry: { name: routeMappingName(route.name), owner: { kind: 'route', name: route.name }, spec },
    };
  } catch (error) {
    return asConfigError(error);
  }
}

/**
 * `extends: none` asks the target connector to leave its default conversion out; a connector
 * that cannot (or does not say which fields it needs) makes it a start-up error, not a silent
 * no-op.
 */
function checkWithoutDefaults(route: RouteConfig, defaults: TargetDefaults | undefined): void {
  if (defaults?.withoutDefaults === true) return;
  const why =
    defaults === undefined
      ? `the connector of ${route.target} does not publish a default conversion for ${route.entity}, so it cannot leave it out`
      : defaults.withoutDefaults;
  throw configError(
    `route ${route.name}: mapping.extends: none is not supported here: ${why}; remove "extends: none" (the mapping's fields still override the default conversion field by field)`,
  );
}

/** Compiles a source's mapping (sources[].mapping); undefined when it has none. */
export function buildSourceMapping(
  source: SourceConfig,
  connector: Connector | undefined,
  store: Store,
  configDir: string,
): { mapping: SourceMapping; entry: MappingSpecEntry } | undefined {
  if (source.mapping === undefined) return undefined;
  try {
    const loaded = loadMapping(`source ${source.name}`, source.mapping, configDir);
    const mapping = compileSourceMapping(
      source,
      loaded.spec,
      mappingDeps(store, source.entity, connector, loaded.baseDir),
    );
    return {
      mapping,
      entry: {
        name: sourceMappingName(source.name),
        owner: { kind: 'source', name: source.name },
        spec: loaded.spec,
      },
    };
  } catch (error) {
    return asConfigError(error);
  }
}

/**
 * Records every mapping's content as a version when it changed since the last start (who:
 * 'startup'). A change of an existing mapping is logged with its diff and the replay hint, since
 * objects already delivered were converted with the old one.
 */
export async function recordMappingVersionsOf(
  store: Store,
  entries: readonly MappingSpecEntry[],
  log: Logger,
  now = Date.now(),
): Promise<Array<{ name: string; version: number; changed: boolean }>> {
  const out: Array<{ name: string; version: number; changed: boolean }> = [];
  for (const entry of entries) {
    const result = await recordMappingVersion(store, entry.name, entry.spec, 'startup', now);
    out.push({ name: entry.name, version: result.version, changed: result.changed });
    if (result.changed && result.version > 1) {
      const hint =
        entry.owner.kind === 'route'
          ? `run "obmen replay ${entry.owner.name}" to resend what it delivered with the new mapping`
          : `run "obmen pull ${entry.owner.name} --full" to read the source again with the new mapping`;
      log.warn(
        { mapping: entry.name, version: result.version, diff: result.diff },
        `mapping ${entry.name} changed (version ${result.version}); ${hint}`,
      );
    }
  }
  return out;
}

/**
 * Applies a source mapping to one batch: mapped items go on, items its filter leaves out are
 * dropped, items it cannot map are reported as invalid (the rest of the batch goes on).
 */
export async function mapSourceItems(
  mapping: SourceMapping,
  items: readonly SourceItem[],
): Promise<{
  items: SourceItem[];
  skipped: number;
  invalid: Array<{ externalId: string; message: string }>;
}> {
  const out: SourceItem[] = [];
  const invalid: Array<{ externalId: string; message: string }> = [];
  let skipped = 0;
  for (const item of items) {
    // A deletion carries no content worth mapping; it must reach the hub as it is.
    if (item.deleted) {
      out.push(item);
      continue;
    }
    const outcome = await mapping.map(item);
    if (outcome.kind === 'ok') out.push(outcome.item);
    else if (outcome.kind === 'skip') skipped++;
    else
      invalid.push({ externalId: item.externalId, message: `source ${mapping.source}: ${outcome.message}` });
  }
  return { items: out, skipped, invalid };
}

/**
 * The source mappings for what a system pushes into obmen (1C's exchange sends its catalog and
 * its documents; obmen reads nothing on a schedule): the `sources[]` entry naming that system
 * and entity holds the mapping, exactly as for a pull, and mapSourceItems applies it. By
 * entity; entities without such a source come in as the connector converts them. Two sources
 * of one system and entity would disagree about the same pushed objects: a config error.
 */
export function pushMappingsOf(
  sources: readonly SourceConfig[],
  mappings: ReadonlyMap<string, SourceMapping>,
  system: string,
): Map<string, SourceMapping> {
  const byEntity = new Map<string, SourceMapping>();
  const named = new Map<string, string>();
  for (const source of sources) {
    if (source.system !== system) continue;
    const other = named.get(source.entity);
    if (other !== undefined) {
      throw configError(
        `sources ${other} and ${source.name} both describe the ${source.entity} objects system ${system} pushes to obmen; keep one source per entity for it`,
      );
    }
    named.set(source.entity, source.name);
    const mapping = mappings.get(source.name);
    if (mapping) byEntity.set(source.entity, mapping);
  }
  return byEntity;
}

/**
 * Resolves a missing-value hold ("the value was added to the target's directory") and puts its
 * parked delivery back in the queue, so the next drain of the route sends it. What the CLI's
 * `holds resolve --retry` and the API should call for a missing_value hold.
 */
export async function retryMissingValueHold(
  store: Store,
  id: number,
  actor: string,
  now = Date.now(),
): Promise<{ retried: number }> {
  const hold = await resolveHold(store, id, { retry: true }, actor, now);
  if (hold.kind !== 'missing_value' || !hold.route || !hold.recordId) return { retried: 0 };
  return retryFailures(store, { route: hold.route, recordIds: [hold.recordId] }, now);
}
