/**
 * PHP-style parameters as Bitrix24 reads them: `filter[>ID]=5&select[]=ID&fields[PHONE][0][VALUE]=…`
 * from a query string, a form body or a `batch` command, merged with a JSON body. Bitrix24 is a
 * PHP application, so every transport ends up in the same nested array.
 */
export type Params = Record<string, unknown>;

/** Parses `a[b][]=1&c=2` into nested objects; `[]` appends, numeric keys stay object keys. */
export function parseBracketQuery(query: string): Params {
  const out: Params = {};
  if (!query) return out;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = decode(rawKey);
    const value = decode(rawValue);
    assign(out, splitKey(key), value);
  }
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function splitKey(key: string): string[] {
  const first = key.indexOf('[');
  if (first <= 0) return [key];
  const parts = [key.slice(0, first)];
  const re = /\[([^\]]*)\]/g;
  for (let match = re.exec(key); match; match = re.exec(key)) parts.push(match[1]!);
  return parts;
}

function assign(target: Params, path: string[], value: string): void {
  let node: Params = target;
  for (let i = 0; i < path.length; i++) {
    let part = path[i]!;
    const last = i === path.length - 1;
    if (part === '') part = String(Object.keys(node).length);
    if (last) {
      node[part] = value;
      return;
    }
    const next = node[part];
    if (!next || typeof next !== 'object') node[part] = {};
    node = node[part] as Params;
  }
}

/** `{ "0": a, "1": b }` → `[a, b]` where PHP would see a list; leaves other objects alone. */
export function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') return Object.values(value as Params);
  if (value === undefined || value === null || value === '') return [];
  return [value];
}

export function asObject(value: unknown): Params | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Params;
  return undefined;
}
