/**
 * Reference paths ('groupId', 'lines[].productId', 'tagIds[]') compiled once into segments and
 * walked by hand: these run for every record at ingest and delivery, so no zod and no regex
 * on the hot path.
 */

/** One step of a path: a field, and whether that field is a list to fan out over. */
interface Segment {
  key: string;
  each: boolean;
}

/** A declared reference path, ready to walk. */
export interface CompiledRef {
  path: string;
  entity: string;
  segments: readonly Segment[];
}

/** A reference found in an object: its concrete path ('lines[2].productId'), entity and id. */
export interface FoundRef {
  path: string;
  entity: string;
  id: string;
}

const KEY = /^[A-Za-z_$][\w$-]*$/;

/** Parses 'a.b[].c'; throws naming the path when it is not of that form. */
export function compileRef(path: string, entity: string): CompiledRef {
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    if (!KEY.test(key)) {
      throw new Error(
        `reference path "${path}" is not valid: use field names joined by "." with "[]" after a list, e.g. "lines[].productId"`,
      );
    }
    segments.push({ key, each });
  }
  return { path, entity, segments };
}

/** Called for every reference: the object or list holding it, the key or index, the id. */
type Visit = (
  holder: Record<string, unknown> | unknown[],
  key: string | number,
  path: string,
  id: string,
) => void;

/** Ids are non-empty strings; custom entities may hold integer ids, which are read as text. */
function asId(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function walk(node: unknown, segments: readonly Segment[], at: number, prefix: string, visit: Visit): void {
  if (!isObject(node)) return;
  const { key, each } = segments[at]!;
  const value = node[key];
  const path = prefix === '' ? key : `${prefix}.${key}`;
  const last = at === segments.length - 1;
  if (!each) {
    if (last) {
      const id = asId(value);
      if (id !== undefined) visit(node, key, path, id);
    } else {
      walk(value, segments, at + 1, path, visit);
    }
    return;
  }
  if (!Array.isArray(value)) return;
  for (let i = 0; i < value.length; i++) {
    const itemPath = `${path}[${i}]`;
    if (last) {
      const id = asId(value[i]);
      if (id !== undefined) visit(value, i, itemPath, id);
    } else {
      walk(value[i], segments, at + 1, itemPath, visit);
    }
  }
}

/** Every reference held by `data` along the compiled paths. */
export function collectRefs(refs: readonly CompiledRef[], data: Record<string, unknown>): FoundRef[] {
  const found: FoundRef[] = [];
  for (const ref of refs) {
    walk(data, ref.segments, 0, '', (_holder, _key, path, id) => {
      found.push({ path, entity: ref.entity, id });
    });
  }
  return found;
}

/** Deep copy of JSON data; records are plain JSON, so this beats structuredClone by far. */
export function cloneJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    if (Object.hasOwn(value, key)) copy[key] = cloneJson((value as Record<string, unknown>)[key]);
  }
  return copy as T;
}

/**
 * Every id replaced by fn(entity, id) in `data` itself (ids fn returns undefined for stay), for
 * content the caller owns, e.g. a validated copy: no deep copy is made. Returns a function that
 * puts the replaced ids back.
 */
export function replaceRefsInPlace(
  refs: readonly CompiledRef[],
  data: Record<string, unknown>,
  fn: (entity: string, id: string) => string | undefined,
): () => void {
  type Replaced = { holder: Record<string | number, unknown>; key: string | number; was: unknown };
  const replaced: Replaced[] = [];
  for (const ref of refs) {
    walk(data, ref.segments, 0, '', (holder, key, _path, id) => {
      const mapped = fn(ref.entity, id);
      if (mapped === undefined) return;
      const at = holder as Record<string | number, unknown>;
      replaced.push({ holder: at, key, was: at[key] });
      at[key] = mapped;
    });
  }
  return () => {
    for (const { holder, key, was } of replaced) holder[key] = was;
  };
}

/** A deep copy with every id replaced by fn(entity, id); ids fn cannot map stay and are listed. */
export function replaceRefs(
  refs: readonly CompiledRef[],
  data: Record<string, unknown>,
  fn: (entity: string, id: string) => string | undefined,
): { data: Record<string, unknown>; missing: FoundRef[] } {
  const copy = cloneJson(data);
  const missing: FoundRef[] = [];
  for (const ref of refs) {
    walk(copy, ref.segments, 0, '', (holder, key, path, id) => {
      const mapped = fn(ref.entity, id);
      if (mapped === undefined) {
        missing.push({ path, entity: ref.entity, id });
      } else {
        (holder as Record<string | number, unknown>)[key] = mapped;
      }
    });
  }
  return { data: copy, missing };
}
