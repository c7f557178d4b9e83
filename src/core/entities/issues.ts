import type { z } from 'zod';

/**
 * Turns zod issues into the strings people see in the dashboard and the failure log:
 * 'order.lines[1].productId: is required'. Texts are ours, not zod's, so that they stay stable
 * across zod releases and read the same for every entity.
 */
export function formatIssues(entity: string, issues: readonly z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(`${where(entity, [...issue.path, key])}: unknown field`);
      continue;
    }
    out.push(`${where(entity, issue.path)}: ${describe(issue)}`);
  }
  return out;
}

function where(entity: string, path: readonly PropertyKey[]): string {
  let text = entity;
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  }
  return text;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
};

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // Reporting the input is switched on by the caller; null counts as missing too.
      if ('input' in issue && (issue.input === undefined || issue.input === null)) return 'is required';
      return `expected ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string')
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have at least ${issue.minimum} items`;
      return issue.inclusive === false
        ? `must be greater than ${issue.minimum}`
        : `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must have at most ${issue.maximum} items`;
      return issue.inclusive === false
        ? `must be less than ${issue.maximum}`
        : `must be at most ${issue.maximum}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      // custom and invalid_format carry the messages written next to the rule.
      return issue.message;
  }
}
