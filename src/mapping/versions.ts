import { createHash } from 'node:crypto';
import { stableStringify } from '../core/hash.ts';
import type { Store } from '../store/store.ts';

/** The name a route's mapping versions are stored under. */
export const routeMappingName = (route: string) => `route:${route}`;

/** One stored version of a mapping. */
export interface MappingVersion {
  name: string;
  version: number;
  hash: string;
  spec: unknown;
  /** What changed since the previous version, one line per changed path ("~ fields.STAGE_ID: …"). */
  diff: string | null;
  actor: string;
  createdAt: number;
}

function hashOf(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 32);
}

/** Flattens a spec to "path → JSON value" so that a diff names the exact field that changed. */
function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && path) out.set(path, '{}');
    for (const [key, item] of entries) flatten(item, path ? `${path}.${key}` : key, out);
    return;
  }
  if (value !== undefined) out.set(path, stableStringify(value));
}

/** Line diff of two specs by path: "+ added", "- removed", "~ changed: old → new". */
export function diffSpecs(before: unknown, after: unknown): string {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(before, '', a);
  flatten(after, '', b);
  const lines: string[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const old = a.get(path);
    const now = b.get(path);
    if (old === now) continue;
    if (old === undefined) lines.push(`+ ${path}: ${now}`);
    else if (now === undefined) lines.push(`- ${path}: ${old}`);
    else lines.push(`~ ${path}: ${old} → ${now}`);
  }
  return lines.join('\n');
}

/**
 * Records the mapping's content if it differs from the last stored version (called at
 * start-up for every mapping, and by whoever edits one). Returns whether it changed, so the
 * caller can offer `obmen replay` of the route.
 */
export async function recordMappingVersion(
  store: Store,
  name: string,
  spec: unknown,
  actor: string,
  now = Date.now(),
): Promise<{ changed: boolean; version: number; diff: string | null }> {
  const json = stableStringify(spec ?? {});
  const hash = hashOf(json);
  return store.tx(async (trx) => {
    const last = await trx
      .selectFrom('mapping_versions')
      .select(['version', 'hash', 'spec'])
      .where('name', '=', name)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (last && last.hash === hash) return { changed: false, version: last.version, diff: null };
    const version = (last?.version ?? 0) + 1;
    const diff = last ? diffSpecs(JSON.parse(last.spec), JSON.parse(json)) : null;
    await trx
      .insertInto('mapping_versions')
      .values({ name, version, hash, spec: json, diff, actor, created_at: now })
      .execute();
    return { changed: true, version, diff };
  });
}

/** Versions of one mapping, newest first. */
export async function listMappingVersions(store: Store, name: string): Promise<MappingVersion[]> {
  const rows = await store.db
    .selectFrom('mapping_versions')
    .selectAll()
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .execute();
  return rows.map((row) => ({
    name: row.name,
    version: row.version,
    hash: row.hash,
    spec: JSON.parse(row.spec),
    diff: row.diff,
    actor: row.actor,
    createdAt: row.created_at,
  }));
}

/**
 * Records a route has delivered (or tried to) — the objects a mapping change affects, for
 * `obmen replay <route>` to resend with the new mapping. With `filter`, only those the
 * (new) mapping's filter lets through.
 */
export async function affectedRecords(
  store: Store,
  route: { name: string; entity: string },
  options: { filter?: (data: Record<string, unknown>) => Promise<boolean>; batch?: number } = {},
): Promise<string[]> {
  const batch = options.batch ?? 1000;
  const out: string[] = [];
  let after = '';
  for (;;) {
    const rows = await store.db
      .selectFrom('outbox')
      .innerJoin('records', (join) =>
        join.onRef('records.id', '=', 'outbox.record_id').onRef('records.entity', '=', 'outbox.entity'),
      )
      .select(['outbox.record_id', 'records.data'])
      .where('outbox.route', '=', route.name)
      .where('outbox.entity', '=', route.entity)
      .where('outbox.record_id', '>', after)
      .orderBy('outbox.record_id')
      .limit(batch)
      .execute();
    for (const row of rows) {
      if (!options.filter || (await options.filter(JSON.parse(row.data) as Record<string, unknown>))) {
        out.push(row.record_id);
      }
    }
    if (rows.length < batch) return out;
    after = rows.at(-1)!.record_id;
  }
}

/** Plain text of a mapping's history for the CLI. */
export function formatMappingVersions(versions: readonly MappingVersion[]): string {
  if (versions.length === 0) return 'No versions recorded.';
  return versions
    .map((v) => {
      const head = `v${v.version}  ${new Date(v.createdAt).toISOString()}  ${v.actor}  ${v.hash.slice(0, 12)}`;
      return v.diff ? `${head}\n${v.diff.replace(/^/gm, '    ')}` : `${head}\n    (first version)`;
    })
    .join('\n');
}
