import type { Store } from '../../store/store.ts';
import type { Notification } from './types.ts';

export async function ruleStates(store: Store, rule: string) {
  return store.db.selectFrom('alert_state').selectAll().where('rule', '=', rule).execute();
}

export async function recordSent(
  store: Store,
  n: Notification,
  results: Array<{ channel: string; delivered: boolean; error: string | null }>,
): Promise<void> {
  if (results.length === 0) return;
  await store.db
    .insertInto('alert_history')
    .values(
      results.map((r) => ({
        at: n.at,
        rule: n.finding.rule,
        target: n.finding.target,
        kind: n.status,
        system: n.finding.system,
        route: n.finding.route,
        message: n.text,
        channel: r.channel,
        delivered: r.delivered ? 1 : 0,
        error: r.error,
      })),
    )
    .execute();
}

export async function listAlertHistory(store: Store, limit: number) {
  const rows = await store.db
    .selectFrom('alert_history')
    .selectAll()
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    at: r.at,
    rule: r.rule,
    status: r.kind,
    system: r.system,
    route: r.route,
    message: r.message,
    channel: r.channel,
    delivered: r.delivered === 1,
    error: r.error,
  }));
}
