import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * obmen for the CommerceML endpoint benchmark: the real `obmen start` in its own process (no
 * benchmark code inside it), watched from outside through /proc — its RSS over time, the
 * kernel's peak, and the CPU seconds of all its threads.
 */

const HERE_REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * How obmen is started: `bin` as users run it after `npm install` / `npm start` (bin/obmen.mjs
 * runs the compiled dist/cli, built here first when stale — the prestart step); `tsx` the same
 * bin/obmen.mjs forced to run the TypeScript sources (OBMEN_FROM_SOURCES=1, tsx compiles them
 * on load); `compiled` a bundle this benchmark builds itself (for a checkout older than
 * dist/cli, see --obmen-dir).
 */
export type ObmenBuild = 'bin' | 'tsx' | 'compiled';

export interface RunningObmen {
  pid: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** RSS and CPU now. */
  probe(): ProcessProbe;
  /** Highest RSS sampled (every 100 ms) since the last call; then starts over. */
  takeSampledPeak(): number;
  /** CPU seconds of each thread so far, as last sampled (every 500 ms; see threadSeconds). */
  cpuByThread(): ThreadCpu;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<number | null>;
}

export interface ProcessProbe {
  rssBytes: number;
  /** The kernel's high-water mark of the RSS since the process started. */
  peakRssBytes: number;
  userSeconds: number;
  systemSeconds: number;
  threads: number;
  /** Bytes the process made the disk read and write (/proc/<pid>/io; 0 where not readable). */
  readBytes: number;
  writeBytes: number;
}

/**
 * CPU seconds (user + system) per thread: the main thread, and every other thread busiest first.
 * During a CommerceML import the busiest other thread is the parser thread; the rest are V8's
 * GC helpers, the libuv pool and node's own. A thread that has ended keeps its last reading.
 */
export interface ThreadCpu {
  main: number;
  others: number[];
}

/**
 * The node flags on a script's `#!/usr/bin/env -S node …` line (none for a plain `#!/usr/bin/env
 * node`, or for a checkout older than them): what a user's `obmen start` runs with.
 */
export function binNodeFlags(path: string): string[] {
  const first = readFileSync(path, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\S*env\s+-S\s+node\s+(.*)$/.exec(first.trim());
  return match ? match[1]!.split(/\s+/).filter(Boolean) : [];
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { stdio: ['ignore', 'pipe', 'ignore'] }).toString()) || 100;
  } catch {
    return 100;
  }
})();

export function probeProcess(pid: number): ProcessProbe {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const cpu = cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return {
    rssBytes: field('VmRSS') * 1024,
    peakRssBytes: field('VmHWM') * 1024,
    userSeconds: cpu.user,
    systemSeconds: cpu.system,
    threads: field('Threads'),
    ...diskBytes(pid),
  };
}

/** User and system CPU seconds from a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line. */
function cpuSecondsOf(stat: string): { user: number; system: number } {
  // utime and stime are fields 14 and 15, counted after the ")" that ends the name.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** CPU seconds (user + system) of each thread of the process, by thread id. */
function threadSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const cpu = cpuSecondsOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      out.set(Number(tid), cpu.user + cpu.system);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function diskBytes(pid: number): { readBytes: number; writeBytes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? 0);
    return { readBytes: field('read_bytes'), writeBytes: field('write_bytes') };
  } catch {
    return { readBytes: 0, writeBytes: 0 };
  }
}

/** Writes obmen.yaml for one onec-commerceml system and starts `obmen start` on it. */
export async function startObmenProcess(options: {
  dir: string;
  build: ObmenBuild;
  login: string;
  password: string;
  zip: boolean;
  importStepSeconds: number;
  parseThread: boolean;
  importWhileReceiving?: boolean;
  prepareOnParserThread?: boolean;
  nodeFlags: string[];
  /** Another checkout of obmen to run (a "before" build); default: this one. */
  repo?: string;
  /** A file obmen's stdout is appended to. */
  stdoutLog?: string;
}): Promise<RunningObmen> {
  const repo = options.repo ?? HERE_REPO;
  const config = join(options.dir, 'obmen.yaml');
  writeFileSync(
    config,
    [
      'database:',
      `  url: ${JSON.stringify(join(options.dir, 'obmen.db'))}`,
      'api:',
      '  host: 127.0.0.1',
      '  port: 0',
      'systems:',
      '  erp:',
      '    kind: onec-commerceml',
      `    credentials: { login: ${JSON.stringify(options.login)}, password: ${JSON.stringify(options.password)} }`,
      '    options:',
      `      dataDir: ${JSON.stringify(join(options.dir, 'exchange'))}`,
      `      zip: ${options.zip}`,
      `      importStepSeconds: ${options.importStepSeconds}`,
      ...(options.parseThread ? [] : ['      parseThread: false']),
      ...(options.importWhileReceiving === false ? ['      importWhileReceiving: false'] : []),
      ...(options.prepareOnParserThread === false ? ['      prepareOnParserThread: false'] : []),
      '',
    ].join('\n'),
  );
  if (options.build === 'bin') {
    execSync(`${JSON.stringify(process.execPath)} scripts/build-cli.mjs --if-stale`, {
      cwd: repo,
      stdio: 'inherit',
    });
  }
  const entry = options.build === 'compiled' ? await compiledEntry(repo) : join(repo, 'bin', 'obmen.mjs');
  // node's flags as `obmen start` gets them from bin/obmen.mjs's first line, then the benchmark's own.
  const flags = [...binNodeFlags(join(repo, 'bin', 'obmen.mjs')), ...options.nodeFlags];
  const child = spawn(process.execPath, [...flags, entry, 'start', '--config', config], {
    cwd: options.dir,
    env: {
      ...process.env,
      OBMEN_LOG_LEVEL: 'warn',
      OBMEN_API_PORT: '',
      OBMEN_DATABASE_URL: '',
      OBMEN_FROM_SOURCES: options.build === 'tsx' ? '1' : '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await listeningAddress(child, options.stdoutLog);
  const pid = child.pid!;
  let sampled = 0;
  let ticks = 0;
  const threadTicks = new Map<number, number>();
  const sampler = setInterval(() => {
    try {
      sampled = Math.max(sampled, probeProcess(pid).rssBytes);
      if (ticks++ % 5 === 0) for (const [tid, used] of threadSeconds(pid)) threadTicks.set(tid, used);
    } catch {
      // exited meanwhile
    }
  }, 100);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid,
    base,
    probe: () => probeProcess(pid),
    cpuByThread() {
      const others = [...threadTicks].filter(([tid]) => tid !== pid).map(([, used]) => used);
      return { main: threadTicks.get(pid) ?? 0, others: others.sort((a, b) => b - a) };
    },
    takeSampledPeak() {
      const peak = Math.max(sampled, probeProcess(pid).rssBytes);
      sampled = 0;
      return peak;
    },
    async stop() {
      clearInterval(sampler);
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Resolves with the address once `obmen start` prints it; fails if obmen exits first. All of
 * obmen's stdout goes on to `log` when given (e.g. what --trace-gc prints).
 */
function listeningAddress(child: ChildProcess, log: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      if (log !== undefined) appendFileSync(log, chunk);
      const found = /API and dashboard on (http:\/\/[^\s]+)/.exec(text);
      if (found) resolve(found[1]!);
    });
    child.once('exit', (code) => reject(new Error(`obmen exited with ${code} before listening:\n${text}`)));
  });
}

/**
 * obmen bundled into one ESM file per entry (the CLI and the CommerceML parser thread), with
 * the npm packages left as imports: the same code without compiling TypeScript at run time.
 */
async function compiledEntry(repo: string): Promise<string> {
  const out = join(HERE_REPO, 'node_modules', '.cache', 'obmen-bench');
  mkdirSync(out, { recursive: true });
  const cli = join(out, 'cli-entry.ts');
  writeFileSync(
    cli,
    `import { main } from ${JSON.stringify(join(repo, 'src', 'cli', 'main.ts'))};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  // esbuild comes with tsx; imported only for this mode.
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  // parse-in-worker.ts starts ./parse-worker.js beside the module when not run from sources.
  const worker = join(repo, 'src', 'formats', 'commerceml', 'parse-worker.ts');
  await esbuild.build({
    entryPoints: { obmen: cli, ...(existsSync(worker) ? { 'parse-worker': worker } : {}) },
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'error',
  });
  const entry = join(out, 'obmen.js');
  if (!existsSync(entry)) throw new Error(`esbuild wrote no ${entry}`);
  return entry;
}
