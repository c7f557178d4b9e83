import { z } from 'zod';
import { ApiError } from './errors.ts';

/** Where a value came from, as the caller sees it in the error message. */
export type InputPlace = 'query parameter' | 'path parameter' | 'body field';

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Parses request input with a zod schema; the first problem becomes a 400 naming the
 * parameter, what it must be, and what was sent.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, place: InputPlace): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new ApiError(400, 'invalid_parameter', `invalid ${place}`);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    throw new ApiError(400, 'invalid_parameter', `unknown ${place} ${keys}`);
  }
  if (issue.path.length === 0) {
    throw new ApiError(
      400,
      'invalid_parameter',
      `the request body must be a JSON object (got ${shown(input)})`,
    );
  }
  const name = issue.path.map(String).join('.');
  const value = valueAt(input, issue.path);
  const got = value === undefined ? 'it is missing' : `got ${shown(value)}`;
  throw new ApiError(400, 'invalid_parameter', `${place} "${name}" ${issue.message} (${got})`);
}

/** A whole number from a query string, with bounds and a default. */
export function intParam(options: { min: number; max?: number; default: number }) {
  const range =
    options.max === undefined
      ? `a whole number of at least ${options.min}`
      : `a whole number from ${options.min} to ${options.max}`;
  const message = `must be ${range}`;
  return z
    .string({ error: message })
    .regex(/^\d{1,15}$/, { error: message })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(options.min, { error: message })
        .max(options.max ?? Number.MAX_SAFE_INTEGER, { error: message }),
    )
    .optional()
    .transform((value) => value ?? options.default);
}

/** limit (1–500, default 50) and offset (default 0), shared by every list endpoint. */
export const pageQuery = {
  limit: intParam({ min: 1, max: 500, default: 50 }),
  offset: intParam({ min: 0, default: 0 }),
};

/** An optional single text value from a query string (a repeated parameter is refused). */
export function textParam(maxLength: number) {
  return z
    .string({ error: 'must be given once, as text' })
    .max(maxLength, { error: `must be at most ${maxLength} characters` })
    .optional();
}
