import { parseArgs } from 'node:util';
import type { Store } from '../../store/store.ts';
import { writeAudit } from '../audit/audit.ts';
import { countUsers, upsertUser } from './accounts.ts';
import { passwordProblem } from './passwords.ts';
import { isRole, ROLES } from './roles.ts';

const USAGE =
  'usage: obmen user add <login> --role viewer|operator|admin  (password from OBMEN_USER_PASSWORD or stdin)';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/**
 * `obmen user add <login> --role admin`: creates a user, or resets its password and role. The
 * password comes from OBMEN_USER_PASSWORD or the first line of stdin, never from the command
 * line (it would stay in the shell history and the process list).
 */
export async function runUserCli(
  argv: string[],
  store: Store,
  io: { out: (text: string) => void; password?: () => Promise<string>; env?: NodeJS.ProcessEnv } = {
    out: (text) => process.stdout.write(`${text}\n`),
  },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { role: { type: 'string', default: 'viewer' } },
  });
  const [sub, login] = positionals;
  if (sub !== 'add' || !login) {
    io.out(USAGE);
    return 2;
  }
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(login)) {
    io.out(`login "${login}": use 1–64 letters, digits, ".", "_", "@" or "-"`);
    return 2;
  }
  if (!isRole(values.role)) {
    io.out(`--role ${values.role}: use one of ${ROLES.join(', ')}`);
    return 2;
  }
  const env = io.env ?? process.env;
  const password = env.OBMEN_USER_PASSWORD ?? (await (io.password ?? readStdin)());
  const problem = passwordProblem(password);
  if (problem) {
    io.out(`the password ${problem}`);
    return 2;
  }
  const now = Date.now();
  const created = await upsertUser(store, { login, password, role: values.role }, now);
  await writeAudit(store, {
    at: now,
    user: `cli:${env.USER ?? 'unknown'}`,
    action: 'user.save',
    target: login,
    details: { login, role: values.role },
  });
  io.out(`${created ? 'created' : 'updated'} user ${login} (${values.role})`);
  return 0;
}

/**
 * The first admin from OBMEN_ADMIN_LOGIN / OBMEN_ADMIN_PASSWORD, at start. It is created only
 * while no user exists: the variables left in a service file must not reset a password that
 * was changed later in the dashboard.
 */
export async function ensureAdminFromEnv(
  store: Store,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const login = env.OBMEN_ADMIN_LOGIN;
  const password = env.OBMEN_ADMIN_PASSWORD;
  if (!login || !password) return undefined;
  if ((await countUsers(store)) > 0) return undefined;
  const problem = passwordProblem(password);
  if (problem) throw new Error(`OBMEN_ADMIN_PASSWORD ${problem}`);
  const now = Date.now();
  await upsertUser(store, { login, password, role: 'admin' }, now);
  await writeAudit(store, {
    at: now,
    user: 'env',
    action: 'user.save',
    target: login,
    details: { login, role: 'admin' },
  });
  return login;
}
