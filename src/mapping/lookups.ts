import { readFileSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { LookupTableSpec } from './spec.ts';

/** A compiled lookup table: keys are compared as text (1C GUIDs, Bitrix ids "17" and 17 alike). */
export interface LookupTable {
  name: string;
  get(key: unknown): unknown;
  has(key: unknown): boolean;
  /** value → key; throws if two keys share a value (checked when a mapping reads it backwards). */
  reverse(): LookupTable;
  size: number;
}

const keyOf = (key: unknown): string => (typeof key === 'string' ? key : JSON.stringify(key));

function table(name: string, entries: Map<string, unknown>): LookupTable {
  let reversed: LookupTable | undefined;
  return {
    name,
    size: entries.size,
    get: (key) => (key === undefined || key === null ? undefined : entries.get(keyOf(key))),
    has: (key) => key !== undefined && key !== null && entries.has(keyOf(key)),
    reverse() {
      if (reversed) return reversed;
      const back = new Map<string, unknown>();
      for (const [key, value] of entries) {
        const k = keyOf(value);
        if (back.has(k)) {
          throw new Error(
            `lookup table "${name}" cannot be read backwards: keys "${String(back.get(k))}" and "${key}" both map to ${k}`,
          );
        }
        back.set(k, key);
      }
      reversed = table(`${name} (reverse)`, back);
      return reversed;
    },
  };
}

function parseCsv(text: string, file: string): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    // 1C and Excel export with ";" in Russian locales; accept both.
    const separator = line.includes(';') ? ';' : ',';
    const at = line.indexOf(separator);
    if (at < 0) throw new Error(`${file} line ${index + 1}: expected "key${separator}value"`);
    const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');
    entries.set(unquote(line.slice(0, at)), unquote(line.slice(at + 1)));
  });
  return entries;
}

/** Builds a lookup table from its spec; `baseDir` resolves relative file names (obmen.yaml's folder). */
export function loadLookupTable(name: string, spec: LookupTableSpec, baseDir: string): LookupTable {
  if ((spec.map === undefined) === (spec.file === undefined)) {
    throw new Error(`lookup table "${name}" needs exactly one of "map" or "file"`);
  }
  if (spec.map) return table(name, new Map(Object.entries(spec.map)));
  const path = isAbsolute(spec.file!) ? spec.file! : resolve(baseDir, spec.file!);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`lookup table "${name}": cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.txt') return table(name, parseCsv(text, path));
  const data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  const pairs = data && typeof data === 'object' && 'map' in data ? (data as { map: unknown }).map : data;
  if (!pairs || typeof pairs !== 'object' || Array.isArray(pairs)) {
    throw new Error(`lookup table "${name}": ${path} must hold key: value pairs`);
  }
  return table(name, new Map(Object.entries(pairs as Record<string, unknown>)));
}
