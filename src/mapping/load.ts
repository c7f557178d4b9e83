import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MappingError } from './expression.ts';

/** A mapping ready to compile: its content and the folder its lookup files are relative to. */
export interface LoadedMapping {
  spec: unknown;
  baseDir: string;
  /** The file it came from, when it was a file reference. */
  file: string | undefined;
}

/**
 * `mapping:` in obmen.yaml is either the mapping itself or a path to a YAML file holding it
 * (relative to obmen.yaml's folder). Undefined means no user mapping: the connector's default.
 */
export function loadMapping(where: string, ref: unknown, configDir: string): LoadedMapping {
  if (ref === undefined || ref === null) return { spec: {}, baseDir: configDir, file: undefined };
  if (typeof ref !== 'string') return { spec: ref, baseDir: configDir, file: undefined };
  const file = isAbsolute(ref) ? ref : resolve(configDir, ref);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MappingError(`${where}: cannot read mapping file ${file}: ${(error as Error).message}`);
  }
  try {
    return { spec: parseYaml(text) ?? {}, baseDir: dirname(file), file };
  } catch (error) {
    throw new MappingError(`${where}: mapping file ${file} is not valid YAML: ${(error as Error).message}`);
  }
}
