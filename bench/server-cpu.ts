import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import type { Store } from '../src/store/store.ts';

/**
 * CPU time the PostgreSQL server spent on the bench's own connections: the backends whose
 * application_name is this process's (run.ts sets PGAPPNAME), read from /proc/<pid>/stat.
 * Works when the server runs on this machine and /proc is readable; otherwise every reading is
 * undefined and the figure is left out. WAL writer and checkpointer time is not included (they
 * serve every database of the server).
 */
export interface ServerCpu {
  /** Summed CPU seconds of the bench's backends so far (ever seen), or undefined. */
  read(): Promise<number | undefined>;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return undefined;
  }
}

export function serverCpu(store: Store, applicationName: string | undefined): ServerCpu {
  // Last reading per backend: a backend that exits keeps its last known time.
  const seen = new Map<number, number>();
  return {
    async read() {
      if (store.caps.name !== 'postgres' || !applicationName) return undefined;
      const rows = await sql<{ pid: number }>`select pid from pg_stat_activity
        where application_name = ${applicationName}`.execute(store.db);
      let readable = false;
      for (const { pid } of rows.rows) {
        const ticks = cpuTicksOf(pid);
        if (ticks === undefined) continue;
        readable = true;
        seen.set(pid, ticks);
      }
      if (!readable) return undefined;
      let total = 0;
      for (const ticks of seen.values()) total += ticks;
      return total / TICKS_PER_SECOND;
    },
  };
}
