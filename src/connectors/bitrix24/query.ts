/**
 * PHP-bracket encoding of parameters for `batch` commands (`method?filter[>ID]=5&select[]=ID`).
 * Inside a JSON body each command is a plain string, so values are URL-encoded once.
 */

/** A `$result[cmd][field]…` reference to an earlier command of the same batch; written raw. */
export class BatchRef {
  constructor(readonly expression: string) {}
}

export const ref = (command: string, ...path: Array<string | number>): BatchRef =>
  new BatchRef(`$result[${command}]${path.map((p) => `[${p}]`).join('')}`);

function encodeValue(value: unknown): string {
  if (value instanceof BatchRef) return value.expression;
  if (typeof value === 'boolean') return value ? 'Y' : 'N';
  return encodeURIComponent(value === null || value === undefined ? '' : String(value));
}

function walk(prefix: string, value: unknown, out: string[]): void {
  if (value instanceof BatchRef || value === null || typeof value !== 'object') {
    if (value === undefined) return;
    out.push(`${prefix}=${encodeValue(value)}`);
    return;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) {
    out.push(`${prefix}=`);
    return;
  }
  for (const [key, child] of entries) walk(`${prefix}[${encodeURIComponent(key)}]`, child, out);
}

export function toBracketQuery(params: Record<string, unknown>): string {
  const out: string[] = [];
  for (const [key, value] of Object.entries(params)) walk(encodeURIComponent(key), value, out);
  return out.join('&');
}
