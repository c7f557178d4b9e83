import { readFileSync } from 'node:fs';
import type { ObmenConfig, RouteConfig } from '../config/schema.ts';
import { createEntityRegistry, type EntityRegistry } from '../core/entities/index.ts';
import { configError } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import type { FieldTrace, MapContext, MapOutcome, MappingDeps } from './compile.ts';
import { loadMapping } from './load.ts';
import { refExternalIdResolver } from './ref-ids.ts';
import { compileRouteMapping } from './route.ts';

/** The result of trying a route's mapping on one record. */
export interface MappingTestResult {
  recordId: string | undefined;
  input: Record<string, unknown>;
  filter: { passed: boolean } | { error: string } | undefined;
  output: MapOutcome;
  trace: FieldTrace[];
  /** What the dry run did differently from a real delivery. */
  notes: string[];
}

export interface MappingTestRequest {
  config: ObmenConfig;
  store: Store;
  route: string;
  recordId?: string;
  /** A JSON file with one canonical record or a list of them. */
  file?: string;
  /** A canonical record (or a list of them) given directly, e.g. by the API. */
  sample?: unknown;
  /** Folder of obmen.yaml (mapping and lookup files are relative to it); default: cwd. */
  configDir?: string;
  /** The target connector's directory check, when the caller has a live connector. */
  directoryHas?: MappingDeps['directoryHas'];
}

/**
 * `obmen mapping test <route> [--record id | --file sample.json]`: runs the route's filter and
 * mapping on real or sample records and tells, field by field, what happened. It writes
 * nothing: `missing: create` only says what it would create.
 */
export async function runMappingTest(request: MappingTestRequest): Promise<MappingTestResult[]> {
  const { config, store } = request;
  const route = config.routes.find((r) => r.name === request.route);
  if (!route) {
    const names = config.routes.map((r) => r.name).join(', ') || 'none';
    throw configError(`no route "${request.route}" in the config; configured routes: ${names}`);
  }
  const given = [request.recordId, request.file, request.sample].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw configError('say what to test: --record <hub id>, --file <sample.json> or a sample record');
  }
  const notes: string[] = [];
  const registry = createEntityRegistry(config.entities);
  const loaded = loadMapping(`route ${route.name}`, route.mapping, request.configDir ?? process.cwd());
  const mapping = compileRouteMapping(route, loaded.spec, {
    baseDir: loaded.baseDir,
    externalId: async (system, ctx) => {
      if (!ctx.recordId) return undefined;
      const link = await store.db
        .selectFrom('links')
        .select('external_id')
        .where('entity', '=', route.entity)
        .where('record_id', '=', ctx.recordId)
        .where('system', '=', system)
        .executeTakeFirst();
      return link?.external_id;
    },
    directoryHas:
      request.directoryHas ??
      (() => {
        notes.push('directories of the target were not checked (no live connector): values count as present');
        return true;
      }),
    refExternalId: refExternalIdResolver(store, registry, route.entity),
    ensureReferenceValue: async (directory, value) => {
      notes.push(`would create «${String(value)}» in «${directory}» of ${route.target}`);
      return `(new «${String(value)}»)`;
    },
  });

  const inputs: Array<{ recordId: string | undefined; data: Record<string, unknown>; ctx: MapContext }> = [];
  if (request.recordId !== undefined) {
    const row = await store.db
      .selectFrom('records')
      .select(['data'])
      .where('entity', '=', route.entity)
      .where('id', '=', request.recordId)
      .executeTakeFirst();
    if (!row) throw configError(`${route.entity} ${request.recordId} is not in the hub`);
    const links = await store.db
      .selectFrom('links')
      .select(['system', 'external_id'])
      .where('entity', '=', route.entity)
      .where('record_id', '=', request.recordId)
      .execute();
    const externalIds = Object.fromEntries(links.map((l) => [l.system, l.external_id]));
    inputs.push({
      recordId: request.recordId,
      data: await inTargetIds(store, registry, route, JSON.parse(row.data) as Record<string, unknown>, notes),
      ctx: {
        recordId: request.recordId,
        externalId: externalIds[route.target],
        externalIds,
        hubData: () => JSON.parse(row.data) as Record<string, unknown>,
      },
    });
  } else {
    let parsed: unknown = request.sample;
    const origin = request.file ?? 'the sample';
    if (request.file !== undefined) {
      try {
        parsed = JSON.parse(readFileSync(request.file, 'utf8'));
      } catch (error) {
        throw configError(`cannot read ${request.file}: ${(error as Error).message}`);
      }
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const item of list) {
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        throw configError(`${origin} must be a JSON object (a canonical record) or a list of them`);
      }
      inputs.push({ recordId: undefined, data: item as Record<string, unknown>, ctx: {} });
    }
  }

  const results: MappingTestResult[] = [];
  const inputNotes = [...notes];
  for (const input of inputs) {
    notes.length = 0;
    notes.push(...inputNotes);
    const trace = await mapping.trace(input.data, input.ctx);
    results.push({
      recordId: input.recordId,
      input: input.data,
      filter: trace.filter,
      output: trace.outcome,
      trace: trace.fields,
      notes: [...new Set(notes)],
    });
  }
  return results;
}

/**
 * The record as a delivery hands it to the mapping: references in the target's ids (those the
 * target has no id for yet stay hub ids, as the delivery would wait for them).
 */
async function inTargetIds(
  store: Store,
  registry: EntityRegistry,
  route: RouteConfig,
  data: Record<string, unknown>,
  notes: string[],
): Promise<Record<string, unknown>> {
  const refs = registry.refsOf(route.entity, data);
  if (refs.length === 0) return data;
  const ids = new Map<string, string>();
  for (const ref of refs) {
    const link = await store.db
      .selectFrom('links')
      .select('external_id')
      .where('entity', '=', ref.entity)
      .where('system', '=', route.target)
      .where('record_id', '=', ref.id)
      .executeTakeFirst();
    if (link) ids.set(`${ref.entity}:${ref.id}`, link.external_id);
  }
  const mapped = registry.mapRefs(route.entity, data, (entity, id) => ids.get(`${entity}:${id}`));
  if (mapped.missing.length > 0) {
    notes.push(
      `references without an id in ${route.target} are shown as hub ids: ${mapped.missing.map((m) => m.path).join(', ')}`,
    );
  }
  return mapped.data;
}

const show = (value: unknown) => (value === undefined ? '—' : JSON.stringify(value));

/** Plain text for the CLI: input, filter, per-field trace, output. */
export function formatMappingTest(route: string, results: readonly MappingTestResult[]): string {
  const out: string[] = [];
  for (const result of results) {
    out.push(`route ${route}${result.recordId ? `, record ${result.recordId}` : ''}`);
    out.push(`input: ${JSON.stringify(result.input)}`);
    if (result.filter) {
      out.push(
        'error' in result.filter
          ? `filter: ERROR ${result.filter.error}`
          : `filter: ${result.filter.passed ? 'passes' : 'does NOT pass (the route skips this record)'}`,
      );
    }
    out.push('fields:');
    const width = Math.max(5, ...result.trace.map((t) => t.field.length));
    for (const t of result.trace) {
      const input = t.input === undefined ? '' : ` (key ${show(t.input)})`;
      const note = t.note ? `  — ${t.note}` : '';
      out.push(
        `  ${t.field.padEnd(width)}  ${t.outcome.padEnd(7)}  ${show(t.value)}${input}   ← ${t.rule}${note}`,
      );
    }
    const o = result.output;
    if (o.kind === 'ok') {
      out.push(`output: ${JSON.stringify(o.fields)}${o.externalId ? `, externalId ${o.externalId}` : ''}`);
    } else if (o.kind === 'hold') {
      out.push(`output: HOLD (field ${o.field}): ${o.message}`);
    } else {
      out.push(`output: ERROR ${o.message}`);
    }
    for (const note of result.notes) out.push(`note: ${note}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}
