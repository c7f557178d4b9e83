import { CANONICAL_ENTITIES } from '../core/entities/index.ts';
import { canonicalFields } from '../engine/ownership.ts';
import { parseRate } from '../engine/rate-limiter-state.ts';
import { formatPath } from './env.ts';
import type { LimitsConfig, ObmenConfig } from './schema.ts';
import { isValidTime, parseDuration, parseSchedule } from './units.ts';

/**
 * Checks zod cannot express: names that refer to each other, units inside strings, unique
 * names. Each rule adds one human message naming the path and the fix; all rules run so a
 * person fixes the file in one pass instead of one error per start-up.
 */

/** Edit distance, for "did you mean" hints on misspelt names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** `; did you mean "product"?` when one known name is close enough, else ''. */
export function didYouMean(value: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(value.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const threshold = Math.max(2, Math.floor(value.length / 3));
  return best !== undefined && bestDistance <= threshold ? `; did you mean "${best}"?` : '';
}

function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkDuration(value: string | number | undefined, path: PropertyKey[], issues: string[]): void {
  if (value === undefined) return;
  try {
    parseDuration(value);
  } catch (error) {
    issues.push(`${formatPath(path)}: ${(error as Error).message}`);
  }
}

function checkRate(value: string | undefined, path: PropertyKey[], issues: string[]): void {
  if (value === undefined) return;
  try {
    parseRate(value);
  } catch (error) {
    issues.push(`${formatPath(path)}: ${(error as Error).message}`);
  }
}

function checkLimits(limits: LimitsConfig | undefined, path: PropertyKey[], issues: string[]): void {
  if (!limits) return;
  checkRate(limits.rate, [...path, 'rate'], issues);
  checkDuration(limits.timeout, [...path, 'timeout'], issues);
  if (limits.budget) checkDuration(limits.budget.per, [...path, 'budget', 'per'], issues);
  if (limits.timezone !== undefined && !isValidTimezone(limits.timezone)) {
    issues.push(
      `${formatPath([...path, 'timezone'])}: "${limits.timezone}" is not an IANA time zone; use e.g. "Europe/Moscow" or "UTC"`,
    );
  }
  limits.windows?.forEach((window, index) => {
    const at = [...path, 'windows', index];
    for (const field of ['from', 'to'] as const) {
      if (!isValidTime(window[field])) {
        issues.push(
          `${formatPath([...at, field])}: "${window[field]}" is not a time; use "HH:MM" from "00:00" to "23:59"`,
        );
      }
    }
    checkRate(window.rate, [...at, 'rate'], issues);
  });
}

function checkUrl(value: string | undefined, path: PropertyKey[], issues: string[]): void {
  if (value === undefined) return;
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {}
  if (!ok) {
    issues.push(
      `${formatPath(path)}: "${value}" is not an http(s) URL; write it in full, e.g. "https://example.ru/api"`,
    );
  }
}

function checkUniqueNames(items: readonly { name: string }[], section: string, issues: string[]): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const first = seen.get(item.name);
    if (first === undefined) seen.set(item.name, index);
    else {
      issues.push(
        `${section}[${index}].name: "${item.name}" is already used by ${section}[${first}]; every ${section.slice(0, -1)} needs its own name`,
      );
    }
  });
}

function checkSystemRef(system: string, path: PropertyKey[], declared: string[], issues: string[]): void {
  if (declared.includes(system)) return;
  const list = declared.length > 0 ? `declared: ${declared.join(', ')}` : 'no systems are declared';
  issues.push(
    `${formatPath(path)}: system "${system}" is not declared under systems (${list})${didYouMean(system, declared)}`,
  );
}

function checkEntityRef(
  entity: string,
  path: PropertyKey[],
  known: readonly string[],
  issues: string[],
): void {
  if (known.includes(entity)) return;
  issues.push(
    `${formatPath(path)}: unknown entity "${entity}"${didYouMean(entity, known)} (known: ${known.join(', ')}); declare custom ones under entities`,
  );
}

function checkSchedule(text: string, path: PropertyKey[], allowOnChange: boolean, issues: string[]): void {
  try {
    const schedule = parseSchedule(text);
    if (schedule.kind === 'on-change' && !allowOnChange) {
      issues.push(
        `${formatPath(path)}: "on-change" applies to routes only; a source polls, so give an interval like "5m" or a cron expression like "*/5 * * * *"`,
      );
    }
  } catch (error) {
    issues.push(`${formatPath(path)}: ${(error as Error).message}`);
  }
}

/**
 * `ownership:` names known entities, declared systems and the entity's own top-level fields,
 * and gives each field one owner.
 */
function checkOwnership(
  config: ObmenConfig,
  systems: string[],
  entities: readonly string[],
  issues: string[],
): void {
  for (const [entity, rules] of Object.entries(config.ownership)) {
    checkEntityRef(entity, ['ownership', entity], entities, issues);
    const known = canonicalFields(entity);
    const ownerOf = new Map<string, string>();
    for (const [system, fields] of Object.entries(rules.owners)) {
      const at = ['ownership', entity, 'owners', system];
      checkSystemRef(system, at, systems, issues);
      fields.forEach((field, index) => {
        const where = formatPath([...at, index]);
        if (/[.[\]]/.test(field)) {
          const top = field.split(/[.[]/)[0];
          issues.push(
            `${where}: "${field}" is a nested path; ownership is per top-level field, so write "${top}" (it covers everything inside)`,
          );
          return;
        }
        if (known && !known.includes(field)) {
          issues.push(
            `${where}: ${entity} has no field "${field}"${didYouMean(field, known)} (fields: ${known.join(', ')})`,
          );
          return;
        }
        const owner = ownerOf.get(field);
        if (owner !== undefined && owner !== system) {
          issues.push(
            `${where}: "${field}" is already owned by ${owner}; a field has one owner, so remove it from one of the two lists`,
          );
          return;
        }
        ownerOf.set(field, system);
      });
    }
  }
}

/** Semantic issues of a config that already passed the zod schema; empty when valid. */
export function validateConfig(config: ObmenConfig): string[] {
  const issues: string[] = [];
  const systems = Object.keys(config.systems);
  const customNames = config.entities.map((entity) => entity.name);
  const entities = [...CANONICAL_ENTITIES, ...customNames.filter((n) => !CANONICAL_ENTITIES.includes(n))];

  checkDuration(config.worker.leaseTime, ['worker', 'leaseTime'], issues);
  checkDuration(config.worker.pollInterval, ['worker', 'pollInterval'], issues);
  checkDuration(config.retry.baseDelay, ['retry', 'baseDelay'], issues);
  checkDuration(config.retry.maxDelay, ['retry', 'maxDelay'], issues);
  checkDuration(config.retention.schedule, ['retention', 'schedule'], issues);
  if (issues.length === 0 && parseDuration(config.retry.baseDelay) > parseDuration(config.retry.maxDelay)) {
    issues.push(
      `retry.baseDelay: ${config.retry.baseDelay} is longer than retry.maxDelay (${config.retry.maxDelay}); lower baseDelay or raise maxDelay`,
    );
  }

  for (const [name, system] of Object.entries(config.systems)) {
    checkUrl(system.url, ['systems', name, 'url'], issues);
    checkLimits(system.limits, ['systems', name, 'limits'], issues);
  }

  config.entities.forEach((entity, index) => {
    if (CANONICAL_ENTITIES.includes(entity.name)) {
      issues.push(
        `entities[${index}].name: "${entity.name}" is a built-in entity; give the custom entity another name`,
      );
    }
    for (const [field, target] of Object.entries(entity.refs ?? {})) {
      checkEntityRef(target, ['entities', index, 'refs', field], entities, issues);
    }
  });
  checkUniqueNames(config.entities, 'entities', issues);

  config.sources.forEach((source, index) => {
    checkSystemRef(source.system, ['sources', index, 'system'], systems, issues);
    checkEntityRef(source.entity, ['sources', index, 'entity'], entities, issues);
    checkSchedule(source.schedule, ['sources', index, 'schedule'], false, issues);
  });
  checkUniqueNames(config.sources, 'sources', issues);

  config.routes.forEach((route, index) => {
    checkSystemRef(route.target, ['routes', index, 'target'], systems, issues);
    checkEntityRef(route.entity, ['routes', index, 'entity'], entities, issues);
    checkSchedule(route.schedule, ['routes', index, 'schedule'], true, issues);
  });
  checkUniqueNames(config.routes, 'routes', issues);
  checkOwnership(config, systems, entities, issues);

  return issues;
}
