import type { Store } from '../store/store.ts';
import { namesOf } from './find.ts';
import type { MatchRule } from './rules.ts';

/** Records sharing one normalised key (an INN, a phone, an e-mail…). */
export interface DuplicateGroup {
  rule: MatchRule;
  key: string;
  records: Array<{ recordId: string; name: string | undefined; externalIds: string[] }>;
}

export interface DuplicatesReport {
  entity: string;
  system: string | undefined;
  groups: DuplicateGroup[];
  /** True when more groups exist than `limit` allowed. */
  truncated: boolean;
}

/**
 * Likely duplicates already present: groups of objects sharing a normalised key. With
 * `system`, only objects that exist in that system count and their ids there are listed — the
 * integrator's first question on a dirty CRM ("which contacts share a phone?").
 */
export async function duplicatesReport(
  store: Store,
  options: { entity: string; system?: string; rules?: readonly MatchRule[]; limit?: number },
): Promise<DuplicatesReport> {
  const limit = options.limit ?? 500;
  let grouped = store.db
    .selectFrom('match_keys as k')
    .select((eb) => ['k.rule', 'k.key', eb.fn.count<number>('k.record_id').distinct().as('n')])
    .where('k.entity', '=', options.entity);
  if (options.rules && options.rules.length > 0) grouped = grouped.where('k.rule', 'in', [...options.rules]);
  if (options.system) {
    const system = options.system;
    grouped = grouped.where((eb) =>
      eb.exists(
        eb
          .selectFrom('links as l')
          .select('l.record_id')
          .whereRef('l.entity', '=', 'k.entity')
          .whereRef('l.record_id', '=', 'k.record_id')
          .where('l.system', '=', system),
      ),
    );
  }
  const keys = await grouped
    .groupBy(['k.rule', 'k.key'])
    .having((eb) => eb.fn.count('k.record_id').distinct(), '>', 1)
    .orderBy('k.rule')
    .orderBy('k.key')
    .limit(limit + 1)
    .execute();
  const truncated = keys.length > limit;
  const wanted = keys.slice(0, limit);
  const groups: DuplicateGroup[] = [];
  for (const { rule, key } of wanted) {
    const members = await store.db
      .selectFrom('match_keys')
      .select('record_id')
      .where('entity', '=', options.entity)
      .where('rule', '=', rule)
      .where('key', '=', key)
      .orderBy('record_id')
      .execute();
    let ids = members.map((m) => m.record_id);
    const links = await store.db
      .selectFrom('links')
      .select(['record_id', 'system', 'external_id'])
      .where('entity', '=', options.entity)
      .where('record_id', 'in', ids)
      .$if(options.system !== undefined, (q) => q.where('system', '=', options.system!))
      .orderBy('external_id')
      .execute();
    const byRecord = new Map<string, string[]>();
    for (const link of links) {
      const shown = options.system ? link.external_id : `${link.system}:${link.external_id}`;
      byRecord.set(link.record_id, [...(byRecord.get(link.record_id) ?? []), shown]);
    }
    if (options.system) ids = ids.filter((id) => byRecord.has(id));
    const names = await namesOf(store, options.entity, ids);
    groups.push({
      rule: rule as MatchRule,
      key,
      records: ids.map((recordId) => ({
        recordId,
        name: names.get(recordId),
        externalIds: byRecord.get(recordId) ?? [],
      })),
    });
  }
  return { entity: options.entity, system: options.system, groups, truncated };
}

const RULE_TITLES: Record<string, string> = {
  inn_kpp: 'INN/KPP',
  email: 'e-mail',
  phone: 'phone',
  article: 'article',
  barcode: 'barcode',
};

/** Plain text for `obmen duplicates`. */
export function formatDuplicatesReport(report: DuplicatesReport): string {
  const where = report.system ? ` in ${report.system}` : '';
  if (report.groups.length === 0) return `No likely duplicate ${report.entity} objects${where}.`;
  const lines = [`Likely duplicate ${report.entity} objects${where}: ${report.groups.length} groups`];
  for (const group of report.groups) {
    lines.push(
      '',
      `${RULE_TITLES[group.rule] ?? group.rule} ${group.key} — ${group.records.length} objects:`,
    );
    for (const record of group.records) {
      const ids = record.externalIds.length > 0 ? `  [${record.externalIds.join(', ')}]` : '';
      lines.push(`  ${record.recordId}  ${record.name ?? '(no name)'}${ids}`);
    }
  }
  if (report.truncated)
    lines.push('', 'More groups exist; narrow the report with --system or raise --limit.');
  return lines.join('\n');
}
