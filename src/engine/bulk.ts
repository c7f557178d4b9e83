import { type Compilable, CompiledQuery, type QueryResult, type RawBuilder, sql } from 'kysely';
import type { DialectCapabilities } from '../store/capabilities.ts';
import type { Db } from '../store/store.ts';

/**
 * PostgreSQL type of each column of a bulk statement, in the rows' key order. 'utf8' is text
 * given as a string or as its UTF-8 bytes (prepared content, engine/prepared.ts): SQLite gets
 * the bytes as they are, cast to text in the statement (no conversion from a JS string);
 * PostgreSQL, whose rows travel as JSON, gets them decoded.
 */
export type BulkColumns = Record<string, 'text' | 'integer' | 'bigint' | 'utf8'>;

/** A row as `build` gets it: a 'utf8' column holds text or the expression that makes text of the bytes. */
export type BulkRow<Row> = {
  [K in keyof Row]: Uint8Array extends Row[K] ? Exclude<Row[K], Uint8Array> | RawBuilder<string> : Row[K];
};

/**
 * Multi-row inserts (`insert … values (…), (…) [on conflict …]`), built with Kysely but not
 * re-built for every chunk. The profile showed Kysely parsing and compiling each value of a
 * 1000-row `values()` costing more CPU than SQLite spends storing the rows, and PostgreSQL
 * parsing and planning a 10,000-parameter statement per chunk. So:
 * - SQLite: the text is compiled once per statement and row count; later runs only bind the
 *   values (and store.ts keeps the prepared statement).
 * - PostgreSQL: the rows travel as ONE json parameter, expanded by json_to_recordset with
 *   the declared column types: the statement text is the same for any row count.
 * Rows must be objects with the same keys in the same order (one object literal). The first
 * compile checks that Kysely binds exactly the rows' values in that order; a statement for
 * which it does not is never cached and always runs as Kysely built it.
 * Returns the rows the statement inserted or changed (an `on conflict do nothing` skip is none).
 */
const texts = new Map<string, string | null>();
const SQLITE_PARAMS_PER_STATEMENT = 1000;
const MAX_TEXTS = 256;

export async function executeBulk<Row extends Record<string, unknown>>(
  trx: Db,
  caps: DialectCapabilities,
  name: string,
  columns: BulkColumns,
  given: readonly Row[],
  build: (rows: BulkRow<Row>[]) => Compilable,
): Promise<number> {
  if (given.length === 0) return 0;
  // A named capability would be nicer; the json expansion is what PostgreSQL offers here.
  const asJson = caps.name === 'postgres';
  const utf8 = Object.keys(columns).filter((column) => columns[column] === 'utf8');
  const rows = asJson && utf8.length > 0 ? given.map((row) => decoded(row, utf8)) : given;
  // What build gets: SQLite's statement casts the bytes (bound as a blob) to text.
  const built = (part: readonly Row[]) =>
    (asJson || utf8.length === 0 ? part : part.map((row) => castToText(row, utf8))) as BulkRow<Row>[];
  if (!asJson) {
    // SQLite: statements of at most SQLITE_PARAMS_PER_STATEMENT values. A prepared 10,000-value
    // insert is about a megabyte of native memory (kept in store.ts's statement cache, one per
    // statement and row count), and inserting through it cost no less CPU than ten 1,000-value
    // ones (measured: 100k rows, 517 ms vs 476 ms).
    const perStatement = Math.max(1, Math.floor(SQLITE_PARAMS_PER_STATEMENT / Object.keys(columns).length));
    if (rows.length > perStatement) {
      let written = 0;
      for (let at = 0; at < rows.length; at += perStatement)
        written += await executeBulk(trx, caps, name, columns, rows.slice(at, at + perStatement), build);
      return written;
    }
  }
  const key = `${caps.name}:${name}:${asJson ? 'json' : rows.length}`;
  const text = texts.get(key);
  if (typeof text === 'string') {
    const parameters = asJson ? [JSON.stringify(rows)] : flatValues(rows);
    return affected(await trx.executeQuery(CompiledQuery.raw(text, parameters)));
  }
  if (text === undefined) {
    if (texts.size >= MAX_TEXTS) texts.clear();
    const sample = asJson ? [rows[0]!] : [...rows];
    const compiled = build(built(sample)).compile();
    let cached: string | null = sameValues(compiled.parameters, flatValues(sample)) ? compiled.sql : null;
    if (cached !== null && asJson) cached = jsonRecordset(cached, rows[0]!, columns);
    texts.set(key, cached);
    if (cached !== null) return executeBulk(trx, caps, name, columns, rows, build);
  }
  return affected(await trx.executeQuery(build(built(rows)).compile()));
}

const UTF8 = new TextDecoder();

/** The row with its 'utf8' columns as strings. */
function decoded<Row extends Record<string, unknown>>(row: Row, utf8: readonly string[]): Row {
  if (!utf8.some((column) => row[column] instanceof Uint8Array)) return row;
  const copy: Record<string, unknown> = { ...row };
  for (const column of utf8) {
    const value = copy[column];
    if (value instanceof Uint8Array) copy[column] = UTF8.decode(value);
  }
  return copy as Row;
}

/** The row with its 'utf8' columns as `cast(? as text)` of the value (a string stays what it is). */
function castToText<Row extends Record<string, unknown>>(row: Row, utf8: readonly string[]): Row {
  const copy: Record<string, unknown> = { ...row };
  for (const column of utf8) copy[column] = sql<string>`cast(${copy[column]} as text)`;
  return copy as Row;
}

function affected(result: QueryResult<unknown>): number {
  return Number(result.numAffectedRows ?? 0n);
}

/** `values ($1, …, $n)` → `select … from json_to_recordset($1::json) as r(col type, …)`. */
function jsonRecordset(text: string, row: Record<string, unknown>, columns: BulkColumns): string | null {
  const keys = Object.keys(row);
  if (keys.some((k) => columns[k] === undefined) || !/^[a-z_]+$/.test(keys.join(''))) return null;
  const placeholders = keys.map((_, i) => `\\$${i + 1}`).join(', ');
  const values = new RegExp(`values \\(${placeholders}\\)`);
  if (!values.test(text)) return null;
  const list = keys.map((k) => `"${k}"`).join(', ');
  const types = keys.map((k) => `"${k}" ${columns[k] === 'utf8' ? 'text' : columns[k]}`).join(', ');
  return text.replace(values, `select ${list} from json_to_recordset($1::json) as r(${types})`);
}

function flatValues(rows: readonly Record<string, unknown>[]): unknown[] {
  const flat: unknown[] = [];
  for (const row of rows) for (const key in row) flat.push(row[key]);
  return flat;
}

function sameValues(bound: readonly unknown[], values: readonly unknown[]): boolean {
  return bound.length === values.length && bound.every((value, at) => Object.is(value, values[at]));
}
