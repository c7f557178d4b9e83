import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The upload folder of one exchange type (like Bitrix's /upload/1c_catalog/). `init` wipes it,
 * so re-sent names never append to an old file. Which uploads are archives and which were
 * unpacked is kept in a state file beside them: its name starts with a dot, which no upload
 * name may (safe-path.ts), and it survives a restart of obmen between two calls of 1C.
 */
const STATE_FILE = '.obmen-exchange.json';

export interface WorkDirState {
  archives: string[];
  unpacked: string[];
}

export async function resetWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

export async function readWorkDirState(dir: string): Promise<WorkDirState> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as Partial<WorkDirState>;
    return { archives: parsed.archives ?? [], unpacked: parsed.unpacked ?? [] };
  } catch {
    return { archives: [], unpacked: [] };
  }
}

export async function writeWorkDirState(dir: string, state: WorkDirState): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, STATE_FILE), JSON.stringify(state));
}
