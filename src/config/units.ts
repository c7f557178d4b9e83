import { CronExpressionParser } from 'cron-parser';

/**
 * The units people write in obmen.yaml: durations ("15s", "1h30m"), schedules ("on-change",
 * "every 5m", "0 3 * * *") and wall-clock times ("09:00"). Parsers throw plain Errors whose
 * message quotes the value and shows a correct example; config validation prefixes the path.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;
const DURATION_HINT =
  'use e.g. "500ms", "15s", "5m", "1h", "1d" or "1h30m" (a plain number means milliseconds)';

/** Milliseconds in a duration: "500ms", "15s", "5m", "1h", "1d", "1h30m"; a number is already ms. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`${value} is not a duration; ${DURATION_HINT}`);
    }
    return Math.round(value);
  }
  const text = value.trim().toLowerCase();
  if (/^\d+$/.test(text)) return Number(text);
  let total = 0;
  let consumed = 0;
  DURATION_PART.lastIndex = 0;
  // Sticky regex: every character must belong to a "<number><unit>" part, so "5 minutes" fails.
  for (let match = DURATION_PART.exec(text); match !== null; match = DURATION_PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = DURATION_PART.lastIndex;
    while (text[consumed] === ' ') consumed++;
    DURATION_PART.lastIndex = consumed;
  }
  if (text === '' || consumed !== text.length) {
    throw new Error(`"${value}" is not a duration; ${DURATION_HINT}`);
  }
  return Math.round(total);
}

/** When something runs: on every change, every N ms, or on a cron expression. */
export type Schedule =
  | { kind: 'on-change' }
  | { kind: 'interval'; ms: number }
  | { kind: 'cron'; expression: string };

const SCHEDULE_HINT = 'use e.g. "15s", "5m", "on-change" or a cron expression like "*/5 * * * *"';

/** "on-change", an interval ("15s", "every 15s") or a cron expression with 5 or 6 fields. */
export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'on-change') return { kind: 'on-change' };

  const fields = trimmed.split(/\s+/);
  const looksLikeCron = trimmed.startsWith('@') || (fields.length >= 5 && !/^every$/i.test(fields[0] ?? ''));
  if (looksLikeCron) {
    if (!trimmed.startsWith('@') && fields.length > 6) {
      throw new Error(
        `"${text}" has ${fields.length} fields; a cron expression has 5 (minute first) or 6 (second first)`,
      );
    }
    try {
      CronExpressionParser.parse(trimmed, { strict: false });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`"${text}" is not a valid cron expression (${reason}); ${SCHEDULE_HINT}`);
    }
    return { kind: 'cron', expression: trimmed };
  }

  const interval = trimmed.replace(/^every\s+/i, '');
  let ms: number;
  try {
    ms = parseDuration(interval);
  } catch {
    throw new Error(`"${text}" is not an interval; ${SCHEDULE_HINT}`);
  }
  if (ms <= 0) throw new Error(`"${text}" is a zero interval; ${SCHEDULE_HINT}`);
  return { kind: 'interval', ms };
}

/** The host's IANA zone: the default for cron schedules, as people write them in local time. */
export function hostTimezone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * Epoch ms of the next run. on-change runs at once (`after`); an interval adds its length;
 * a cron schedule gives its next fire time strictly after `after`, in `timezone` (default: host zone).
 */
export function nextRun(schedule: Schedule, after: number, timezone?: string): number {
  switch (schedule.kind) {
    case 'on-change':
      return after;
    case 'interval':
      return after + schedule.ms;
    case 'cron': {
      const expression = CronExpressionParser.parse(schedule.expression, {
        currentDate: new Date(after),
        tz: timezone ?? hostTimezone(),
      });
      const next = expression.next().getTime();
      // Guard the "strictly after" invariant against sub-second `after` values.
      return next > after ? next : expression.next().getTime();
    }
  }
}

/** Whether `hhmm` is a wall-clock time "HH:MM" from "00:00" to "23:59". */
export function isValidTime(hhmm: string): boolean {
  return /^([01]\d|2[0-3]):[0-5]\d$/.test(hhmm);
}
