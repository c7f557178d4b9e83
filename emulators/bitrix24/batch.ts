import { RestError } from './errors.ts';
import type { MethodOutput } from './methods.ts';
import { asObject, type Params, parseBracketQuery } from './params.ts';

/** Most commands one `batch` call takes. */
export const MAX_BATCH = 50;

/** Runs one command of the batch: its output and the `time` object shown for it; throws RestError. */
export type BatchRunner = (method: string, params: Params) => { output: MethodOutput; time: unknown };

/**
 * The REST module's `batch`, one implementation for the Bitrix24 portal and the 1C-Bitrix site
 * (they run the same module): up to 50 commands as `cmd[key]=method?query`, each seeing the
 * results of the ones before through `$result[key][field]…`, errors per command in
 * `result_error` (all commands run unless `halt=1`), and no nested `batch`. A `cmd` given as a
 * list answers lists; PHP serialises an empty array as [], never {}.
 */
export function runBatch(params: Params, run: BatchRunner): MethodOutput {
  const cmdRaw = params['cmd'];
  const isArray = Array.isArray(cmdRaw);
  const cmd = isArray
    ? Object.fromEntries((cmdRaw as unknown[]).map((v, i) => [String(i), v]))
    : (asObject(cmdRaw) ?? {});
  const keys = Object.keys(cmd);
  if (keys.length > MAX_BATCH)
    throw new RestError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded');
  const halt = String(params['halt'] ?? '0') === '1' || params['halt'] === true;
  const results: Record<string, unknown> = {};
  const errors: Record<string, unknown> = {};
  const totals: Record<string, unknown> = {};
  const nexts: Record<string, unknown> = {};
  const times: Record<string, unknown> = {};
  for (const key of keys) {
    const command = substitute(String(cmd[key]), results);
    const q = command.indexOf('?');
    const method = (q < 0 ? command : command.slice(0, q)).trim();
    try {
      if (method.toLowerCase() === 'batch')
        throw new RestError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage');
      const { output, time } = run(method, parseBracketQuery(q < 0 ? '' : command.slice(q + 1)));
      results[key] = output.result;
      if (output.total !== undefined) totals[key] = output.total;
      if (output.next !== undefined) nexts[key] = output.next;
      times[key] = time;
    } catch (error) {
      if (!(error instanceof RestError)) throw error;
      errors[key] = error.body();
      if (halt) break;
    }
  }
  const section = (o: Record<string, unknown>) =>
    Object.keys(o).length === 0 ? [] : isArray ? Object.values(o) : o;
  return {
    result: {
      result: section(results),
      result_error: section(errors),
      result_total: section(totals),
      result_next: section(nexts),
      result_time: section(times),
    },
  };
}

/** `$result[key][FIELD][0]` references to earlier commands of the same batch. */
function substitute(command: string, results: Record<string, unknown>): string {
  return command.replace(/\$result\[([^\]]+)\]((?:\[[^\]]*\])*)/g, (_all, key: string, rest: string) => {
    let value: unknown = results[key];
    for (const m of rest.matchAll(/\[([^\]]*)\]/g)) {
      const part = m[1]!;
      value = Array.isArray(value) ? value[Number(part)] : asObject(value)?.[part];
    }
    if (value === undefined || value === null) return '';
    return encodeURIComponent(typeof value === 'object' ? JSON.stringify(value) : String(value));
  });
}
