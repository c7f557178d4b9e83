import type { Logger } from 'pino';
import type { ObmenConfig } from '../../config/schema.ts';
import { parseDuration } from '../../config/units.ts';
import { redactText } from '../../http/redact.ts';
import type { Store } from '../../store/store.ts';
import { type Channel, createChannels } from './channels.ts';
import { composeNotification } from './messages.ts';
import { evaluateRule } from './rules.ts';
import { recordSent, ruleStates } from './state.ts';
import type { Finding, HoldInfo, Notification } from './types.ts';

export interface AlertContext {
  store: Store;
  config: ObmenConfig;
  now?: () => number;
  /** The parked holds (the mapping helper's table); without it, hold rules never fire. */
  holds?: () => Promise<HoldInfo[]>;
  /** Channels to use instead of the configured ones' defaults (tests pass their own fetch). */
  channels?: Channel[];
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** Evaluate only while this returns true (the scheduler's leadership), so several schedulers send one alert. */
  isLeader?: () => boolean;
}

export interface AlertRunResult {
  notifications: Notification[];
  deliveries: Array<{ channel: string; delivered: boolean; error: string | null }>;
}

function channelSecrets(config: ObmenConfig): string[] {
  const c = config.alerts.channels;
  return [c.email?.password, c.telegram?.botToken, ...Object.values(c.webhook?.headers ?? {})].filter(
    (s): s is string => typeof s === 'string' && s.length >= 4,
  );
}

/**
 * Evaluates every rule once and sends what changed: a finding that starts firing, one still
 * firing after the repeat interval, and one that cleared (resolved). One finding per rule and
 * target, so a route with 500 failures sends one message, not 500. State lives in the store,
 * so a restart neither repeats nor forgets an alert.
 */
export async function runAlertsOnce(ctx: AlertContext): Promise<AlertRunResult> {
  const now = (ctx.now ?? Date.now)();
  const cfg = ctx.config.alerts;
  const repeatMs = parseDuration(cfg.repeatInterval);
  const channels = ctx.channels ?? createChannels(cfg);
  const secrets = channelSecrets(ctx.config);
  const result: AlertRunResult = { notifications: [], deliveries: [] };

  const send = async (n: Notification, ruleChannels: string[] | undefined) => {
    const outcomes: AlertRunResult['deliveries'] = [];
    for (const channel of channels) {
      if (ruleChannels && !ruleChannels.includes(channel.name)) continue;
      try {
        await channel.send(n);
        outcomes.push({ channel: channel.name, delivered: true, error: null });
      } catch (error) {
        const message = redactText((error as Error).message ?? String(error), secrets);
        ctx.logger?.warn(
          { channel: channel.name, rule: n.finding.rule, err: message },
          'alert not delivered',
        );
        outcomes.push({ channel: channel.name, delivered: false, error: message });
      }
    }
    await recordSent(ctx.store, n, outcomes);
    result.notifications.push(n);
    result.deliveries.push(...outcomes);
    return outcomes.some((o) => o.delivered) || outcomes.length === 0;
  };

  try {
    for (const rule of cfg.rules) {
      let findings: Finding[];
      try {
        findings = await evaluateRule(ctx.store, ctx.config, rule, now, ctx.holds);
      } catch (error) {
        ctx.logger?.error({ rule: rule.name, err: error }, 'alert rule could not be evaluated');
        continue;
      }
      const states = new Map((await ruleStates(ctx.store, rule.name)).map((s) => [s.target, s]));
      for (const finding of findings) {
        const state = states.get(finding.target);
        const fresh = !state || state.status === 'resolved' || state.last_sent_at === null;
        const due = state?.last_sent_at != null && now - state.last_sent_at >= repeatMs;
        const status = fresh ? 'firing' : due ? 'repeat' : undefined;
        const n = composeNotification(status ?? 'firing', finding, cfg.language, now, cfg.dashboardUrl);
        const sent = status ? await send(n, rule.channels) : false;
        const lastSentAt = sent ? now : fresh ? null : (state?.last_sent_at ?? null);
        if (!state) {
          await ctx.store.db
            .insertInto('alert_state')
            .values({
              rule: rule.name,
              target: finding.target,
              status: 'firing',
              first_at: now,
              last_sent_at: lastSentAt,
              resolved_at: null,
              message: n.text,
            })
            .execute();
        } else {
          await ctx.store.db
            .updateTable('alert_state')
            .set({
              status: 'firing',
              first_at: state.status === 'resolved' ? now : state.first_at,
              last_sent_at: lastSentAt,
              resolved_at: null,
              message: n.text,
            })
            .where('rule', '=', rule.name)
            .where('target', '=', finding.target)
            .execute();
        }
      }
      const current = new Set(findings.map((f) => f.target));
      for (const state of states.values()) {
        if (state.status !== 'firing' || current.has(state.target)) continue;
        // Only an alert somebody was told about needs a "resolved" message.
        if (state.last_sent_at !== null) {
          const finding: Finding = {
            rule: rule.name,
            kind: rule.kind,
            target: state.target,
            system: null,
            route: null,
            objects: [],
            facts: {},
          };
          await send(resolvedFrom(finding, state.message, cfg.language, now), rule.channels);
        }
        await ctx.store.db
          .updateTable('alert_state')
          .set({ status: 'resolved', resolved_at: now })
          .where('rule', '=', rule.name)
          .where('target', '=', state.target)
          .execute();
      }
    }
  } finally {
    if (!ctx.channels) for (const channel of channels) channel.close();
  }
  return result;
}

/** The resolved message repeats the first line of the firing one, so people can pair them. */
function resolvedFrom(finding: Finding, firingText: string, lang: 'ru' | 'en', at: number): Notification {
  const first = firingText.split('\n')[0] ?? '';
  const firstLine = first.slice(first.indexOf(': ') + 2);
  const headline = lang === 'ru' ? `✅ Решено: ${firstLine}` : `✅ Resolved: ${firstLine}`;
  const rest = firingText
    .split('\n')
    .slice(1)
    .filter((line) => /^(Система|Маршрут|System|Route|Правило|Rule):/.test(line));
  return {
    status: 'resolved',
    finding,
    subject: `[obmen] ${headline}`,
    text: [headline, ...rest].join('\n'),
    at,
  };
}

/** Runs the evaluator every `alerts.interval` until the signal aborts, while `isLeader` says so. */
export async function runAlertsLoop(ctx: AlertContext, signal: AbortSignal): Promise<void> {
  const intervalMs = Math.max(1000, parseDuration(ctx.config.alerts.interval));
  while (!signal.aborted) {
    try {
      if (ctx.isLeader?.() ?? true) await runAlertsOnce(ctx);
    } catch (error) {
      ctx.logger?.error({ err: error }, 'alert evaluation failed');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, intervalMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
