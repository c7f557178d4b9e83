import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { configJsonSchema } from '../config/json-schema.ts';
import { loadConfig, redactConfig } from '../config/load.ts';
import type { ObmenConfig } from '../config/schema.ts';
import { connectorKinds, getConnectorFactory, routeTargetIssues } from '../connectors/registry.ts';
import { ObmenError } from '../core/errors.ts';
import { newOwnerId } from '../core/ids.ts';
import { createSecretBox, loadInstallationKey, type SecretBox } from '../core/secrets.ts';
import { replayRoute, retryFailures } from '../engine/operations.ts';
import { runPull } from '../engine/pull.ts';
import { listFailures, queueDepth } from '../engine/queries.ts';
import { retryMissingValueHold } from '../engine/route-mapping.ts';
import { createRuntime, type Runtime, recordMappingVersions } from '../engine/runtime.ts';
import { failStaleSessions } from '../engine/sessions.ts';
import { drainRoute, runWorker } from '../engine/worker.ts';
import { routeMappingName } from '../mapping/api.ts';
import { formatEffectiveMapping, showRouteMapping } from '../mapping/show.ts';
import { formatMappingTest, runMappingTest } from '../mapping/test-run.ts';
import { formatMappingVersions, listMappingVersions } from '../mapping/versions.ts';
import { duplicatesReport, formatDuplicatesReport } from '../matching/duplicates.ts';
import { listHolds, resolveHold } from '../matching/holds.ts';
import { ensureAdminFromEnv, runUserCli } from '../ops/auth/cli.ts';
import { applySystemOverrides, loadSystemOverrides } from '../ops/settings/overrides.ts';
import { migrate, openStore, type Store } from '../store/store.ts';
import { type HubRole, startHub } from './hub.ts';
import { createProgress } from './progress.ts';

const HELP = `obmen — exchange hub for 1C, 1C-Bitrix, Bitrix24 and more

Usage: obmen <command> [options]

  start [--role api|worker|scheduler]   run the hub (all roles by default); without obmen.yaml: the demo
  demo [--port N] [--goods N] [--no-faults]
                                        obmen with emulated 1C, Bitrix24 and two shops (demo --help)
  worker                                deliver routes and run queued pulls
  sync <source> [--full]                pull one source now
  deliver <route>                       deliver everything due on a route now
  status                                queue depth per route
  failures [list] [--route R]           parked failures
  failures retry (--route R [--id ID…] | --all)
  replay <route> [--id ID…]             resend all objects of the route's entity
  config check [--print]                validate obmen.yaml
  mapping show <route> [--json]         the route's effective fields: the connector's defaults,
                                        what the mapping overrides, adds or drops
  mapping test <route> [--record ID | --file sample.json] [--json]
                                        dry run of a route's mapping: input, output, per-field trace
  mapping history <route>               versions of a route's mapping with diffs
  holds [resolve <id> --link REC | --create | (retry)]
                                        items held: possible duplicates, missing reference values
  duplicates <entity> [--system S]      likely duplicates (same INN, phone, e-mail)
  config schema                         JSON Schema of obmen.yaml (for editors)
  discover <system>                     entities and fields a system exposes (for mappings)
  bitrix24 authorize <system> [--code CODE]
                                        get new OAuth tokens when the stored ones were refused
  migrate                               apply database migrations
  user add <login> --role viewer|operator|admin
                                        create a user (password from $OBMEN_USER_PASSWORD or stdin)
  emulate <name> [--help]               run an emulator: http-target, onec-odata, onec-exchange,
                                        bitrix24, bitrix-site (each has its own flags)

Options: --config FILE (default $OBMEN_CONFIG or ./obmen.yaml)
Database: $OBMEN_DATABASE_URL (postgres://… or a SQLite path; default ./data/obmen.db)`;

const out = (text: string) => process.stdout.write(`${text}\n`);

interface Context {
  config: ObmenConfig;
  configPath: string | undefined;
}

/** Mapping and lookup files are relative to obmen.yaml. */
const configDir = (ctx: Context) => (ctx.configPath ? dirname(resolve(ctx.configPath)) : process.cwd());

async function withStore<T>(
  ctx: Context,
  fn: (store: Store) => Promise<T>,
  options: { migrate?: boolean; checkpointOnThread?: boolean } = {},
): Promise<T> {
  const store = await openStore({
    migrate: options.migrate !== false,
    checkpointOnThread: options.checkpointOnThread === true,
    ...(ctx.config.database.url ? { url: ctx.config.database.url } : {}),
    ...(process.env.OBMEN_PG_SCHEMA ? { pgSchema: process.env.OBMEN_PG_SCHEMA } : {}),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Secrets saved from the dashboard are encrypted with this installation's key. */
function secretBox(ctx: Context): SecretBox {
  const url = ctx.config.database.url ?? process.env.OBMEN_DATABASE_URL ?? '';
  const dataDir = url && !url.startsWith('postgres') ? dirname(url) : 'data';
  const key = loadInstallationKey(dataDir);
  // Connectors that keep secrets of their own (Bitrix24 OAuth tokens) read the key from the
  // environment; the embedded set-up's generated key is handed to them the same way.
  process.env.OBMEN_SECRET_KEY ??= key.toString('hex');
  return createSecretBox(key);
}

async function withRuntime<T>(
  ctx: Context,
  role: string,
  fn: (runtime: Runtime, box: SecretBox) => Promise<T>,
): Promise<T> {
  return withStore(
    ctx,
    async (store) => {
      const log = pino({ level: process.env.OBMEN_LOG_LEVEL ?? 'info' }, pino.destination(2));
      const box = secretBox(ctx);
      // Settings saved in the dashboard (URLs, limits, encrypted credentials) override obmen.yaml.
      const config = applySystemOverrides(ctx.config, await loadSystemOverrides(store, box));
      const runtime = createRuntime({
        config,
        store,
        owner: newOwnerId(role),
        log,
        configDir: configDir(ctx),
        // Entities left out of `matching:` keep the built-in rules; an empty list turns one off.
        matching: Object.keys(config.matching).length > 0 ? config.matching : true,
      });
      await recordMappingVersions(runtime);
      try {
        return await fn(runtime, box);
      } finally {
        await runtime.close();
      }
    },
    // The runtime imports and delivers: its commits should not wait for WAL checkpoints.
    { checkpointOnThread: true },
  );
}

function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

async function commandStart(ctx: Context, roleArg: string | undefined): Promise<number> {
  const roles = new Set(roleArg ? [roleArg] : ['api', 'worker', 'scheduler']);
  for (const role of roles) {
    if (!['api', 'worker', 'scheduler'].includes(role)) {
      throw new ObmenError('config', `--role ${role}: use api, worker or scheduler`);
    }
  }
  return withRuntime(ctx, [...roles].join('+'), async (runtime, box) => {
    const signal = stopSignal();
    await failStaleSessions(runtime.store, runtime.clock.now() - 10 * 60_000).catch(() => 0);
    if (roles.has('api')) {
      const admin = await ensureAdminFromEnv(runtime.store);
      if (admin) out(`admin user ${admin} created from OBMEN_ADMIN_LOGIN`);
    }
    const hub = await startHub(runtime, { roles: roles as Set<HubRole>, box, configDir: configDir(ctx) });
    if (hub.address) out(`obmen API and dashboard on ${hub.address} (database: ${runtime.store.location})`);
    out(
      `obmen running (${[...roles].join(', ')}); ${ctx.configPath ?? 'no obmen.yaml: empty configuration'}. Ctrl-C stops.`,
    );
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    out('stopping…');
    await hub.stop();
    return 0;
  });
}

async function commandWorker(ctx: Context): Promise<number> {
  return withRuntime(ctx, 'worker', async (runtime) => {
    const signal = stopSignal();
    out(`obmen worker ${runtime.owner} started (database: ${runtime.store.location})`);
    await runWorker(runtime, {
      signal,
      onError: (error, where) => runtime.log.error({ err: error, where }, 'worker error'),
    });
    return 0;
  });
}

/** Emulators parse their own flags; each runs until Ctrl-C. */
const EMULATORS: Record<string, () => Promise<(argv: string[]) => Promise<unknown>>> = {
  'http-target': async () => (await import('../../emulators/http-target/index.ts')).main,
  'onec-odata': async () => (await import('../../emulators/onec-odata/cli.ts')).runOnecOdataEmulatorCli,
  'onec-exchange': async () =>
    (await import('../../emulators/onec-exchange/cli.ts')).runOnecExchangeEmulatorCli,
  bitrix24: async () => (await import('../../emulators/bitrix24/cli.ts')).runBitrix24EmulatorCli,
  'bitrix-site': async () => (await import('../../emulators/bitrix-site/cli.ts')).runBitrixSiteEmulatorCli,
};

async function runEmulator(name: string | undefined, argv: string[]): Promise<number> {
  const load = name ? EMULATORS[name] : undefined;
  if (!load) {
    throw new ObmenError(
      'config',
      `obmen emulate ${name ?? ''}: available emulators: ${Object.keys(EMULATORS).join(', ')}`,
    );
  }
  const run = await load();
  const code = await run(argv);
  return typeof code === 'number' ? code : 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'emulate') return runEmulator(argv[1], argv.slice(2));
  if (argv[0] === 'demo') return (await import('../demo/cli.ts')).runDemoCli(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      role: { type: 'string' },
      full: { type: 'boolean' },
      route: { type: 'string' },
      id: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      print: { type: 'boolean' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      record: { type: 'string' },
      file: { type: 'string' },
      json: { type: 'boolean' },
      link: { type: 'string' },
      create: { type: 'boolean' },
      system: { type: 'string' },
      code: { type: 'string' },
    },
  });
  const [command, sub, arg] = positionals;
  if (!command || values.help || command === 'help') {
    out(HELP);
    return command || values.help ? 0 : 1;
  }
  if (command === 'config' && sub === 'schema') {
    out(JSON.stringify(configJsonSchema(), null, 2));
    return 0;
  }

  const loaded = loadConfig(values.config);
  const ctx: Context = { config: loaded.config, configPath: loaded.path };

  switch (command) {
    case 'config': {
      if (sub !== 'check')
        throw new ObmenError('config', `obmen config ${sub ?? ''}: use "config check" or "config schema"`);
      const unknownKinds = Object.entries(ctx.config.systems).filter(
        ([, system]) => !getConnectorFactory(system.kind),
      );
      if (unknownKinds.length > 0) {
        throw new ObmenError(
          'config',
          unknownKinds
            .map(
              ([name, system]) =>
                `systems.${name}.kind: unknown connector kind "${system.kind}"; available: ${connectorKinds().join(', ')}`,
            )
            .join('\n'),
        );
      }
      const refused = routeTargetIssues(ctx.config);
      if (refused.length > 0) throw new ObmenError('config', refused.join('\n'));
      out(`${ctx.configPath ?? 'no config file (defaults)'}: valid`);
      if (values.print) out(JSON.stringify(redactConfig(ctx.config), null, 2));
      return 0;
    }
    case 'migrate':
      return withStore(
        ctx,
        async (store) => {
          const applied = await migrate(store);
          out(
            applied.length > 0
              ? `applied: ${applied.join(', ')}`
              : `database is up to date (${store.location})`,
          );
          return 0;
        },
        { migrate: false },
      );
    case 'start':
      // A fresh clone has no obmen.yaml: `npm start` then shows obmen working end to end.
      if (!ctx.configPath && !process.env.OBMEN_DATABASE_URL && !values.role) {
        out('no obmen.yaml here: starting the demo (obmen start --config FILE runs your own hub)');
        return (await import('../demo/cli.ts')).runDemoCli(values.port ? ['--port', values.port] : []);
      }
      return commandStart(ctx, values.role);
    case 'mapping': {
      if ((sub !== 'test' && sub !== 'history' && sub !== 'show') || !arg)
        throw new ObmenError('config', 'obmen mapping show|test|history <route>: name the route');
      if (sub === 'show') {
        const effective = showRouteMapping(ctx.config, arg, configDir(ctx));
        out(values.json ? JSON.stringify(effective, null, 2) : formatEffectiveMapping(effective));
        return 0;
      }
      return withStore(ctx, async (store) => {
        if (sub === 'history') {
          out(formatMappingVersions(await listMappingVersions(store, routeMappingName(arg))));
          return 0;
        }
        const results = await runMappingTest({
          config: ctx.config,
          store,
          route: arg,
          configDir: configDir(ctx),
          ...(values.record ? { recordId: values.record } : {}),
          ...(values.file ? { file: values.file } : {}),
        });
        out(values.json ? JSON.stringify(results, null, 2) : formatMappingTest(arg, results));
        return 0;
      });
    }
    case 'holds':
      return withStore(ctx, async (store) => {
        if (sub === 'resolve') {
          const id = Number(arg);
          if (!Number.isInteger(id))
            throw new ObmenError('config', 'obmen holds resolve <id>: give the hold id');
          const actor = `cli:${userInfo().username}`;
          if (!values.link && !values.create) {
            // A missing reference value was added in the target: resolve and queue the row again.
            await retryMissingValueHold(store, id, actor);
            out(`hold ${id} resolved; its delivery is queued again`);
            return 0;
          }
          const decision = values.link ? { link: values.link } : { create: true as const };
          const hold = await resolveHold(store, id, decision, actor);
          out(`hold ${hold.id} resolved`);
          return 0;
        }
        const holds = await listHolds(store, {});
        if (holds.items.length === 0) out('no holds');
        for (const h of holds.items)
          out(`${h.id}  ${h.kind}  ${h.state}  ${h.entity} ${h.recordId ?? ''}  ${h.message}`);
        return 0;
      });
    case 'duplicates': {
      if (!sub) throw new ObmenError('config', 'obmen duplicates <entity> [--system S]: name the entity');
      return withStore(ctx, async (store) => {
        out(formatDuplicatesReport(await duplicatesReport(store, { entity: sub, system: values.system })));
        return 0;
      });
    }
    case 'discover': {
      if (!sub) throw new ObmenError('config', 'obmen discover <system>: name the system');
      return withRuntime(ctx, 'discover', async (runtime) => {
        const connector = runtime.connectors.get(sub);
        if (!connector) throw new ObmenError('config', `unknown system "${sub}"`);
        if (!connector.discover)
          throw new ObmenError('config', `system ${sub}: its connector cannot list entities`);
        for (const entity of await connector.discover())
          out(`${entity.name}\n  ${entity.fields.join('\n  ')}`);
        return 0;
      });
    }
    case 'bitrix24': {
      if (sub !== 'authorize' || !arg)
        throw new ObmenError('config', 'obmen bitrix24 authorize <system> [--code CODE]: name the system');
      return withRuntime(ctx, 'authorize', async (runtime) => {
        const { runAuthorize } = await import('../connectors/bitrix24/reauth-cli.ts');
        return runAuthorize(runtime, arg, values.code, out);
      });
    }
    case 'user':
      return withStore(ctx, (store) =>
        runUserCli([sub ?? '', arg ?? '', ...(values.role ? ['--role', values.role] : [])], store),
      );
    case 'worker':
      return commandWorker(ctx);
    case 'sync': {
      if (!sub) throw new ObmenError('config', 'obmen sync <source>: name the source');
      return withRuntime(ctx, 'sync', async (runtime) => {
        const progress = createProgress(`sync ${sub}`);
        const result = await runPull(runtime, sub, {
          full: values.full === true,
          onBatch: (s) => progress.update(s.read),
        });
        const s = result.stats;
        progress.finish(
          `${s.read} read, ${s.created} new, ${s.updated} changed, ${s.unchanged} unchanged${s.stale > 0 ? `, ${s.stale} stale (older than the hub's)` : ''}, ${s.invalid} invalid (session ${result.sessionId})`,
        );
        for (const error of result.errors.slice(0, 20)) out(`  ! ${error}`);
        return s.invalid > 0 ? 2 : 0;
      });
    }
    case 'deliver': {
      if (!sub) throw new ObmenError('config', 'obmen deliver <route>: name the route');
      return withRuntime(ctx, 'deliver', async (runtime) => {
        const depth = (await queueDepth(runtime.store)).find((d) => d.route === sub);
        const due = depth ? depth.counts.pending + depth.counts.in_flight : undefined;
        const progress = createProgress(`deliver ${sub}`);
        const totals = await drainRoute(runtime, sub, {
          signal: stopSignal(),
          onBatch: (t) => progress.update(t.claimed, due),
        });
        progress.finish(
          `${totals.delivered} delivered, ${totals.skipped} already up to date, ${totals.retried} to retry, ${totals.failed} failed, ${totals.waiting} waiting`,
        );
        return totals.failed > 0 ? 2 : 0;
      });
    }
    case 'status':
      return withStore(ctx, async (store) => {
        const depth = await queueDepth(store);
        if (depth.length === 0) out('no deliveries yet');
        for (const d of depth) {
          const c = d.counts;
          out(
            `${d.route.padEnd(28)} pending ${c.pending}  in flight ${c.in_flight}  waiting ${c.waiting}  failed ${c.failed}  delivered ${c.delivered}`,
          );
        }
        return 0;
      });
    case 'failures': {
      if (sub === 'retry') {
        return withStore(ctx, async (store) => {
          const result = await retryFailures(store, {
            route: values.route,
            recordIds: values.id,
            all: values.all,
          });
          out(`${result.retried} failure(s) queued for retry`);
          return 0;
        });
      }
      return withStore(ctx, async (store) => {
        const page = await listFailures(store, { route: values.route, limit: 100, offset: 0 });
        if (page.total === 0) out('no failures');
        for (const f of page.items)
          out(`${f.route}  ${f.recordId}  [${f.errorClass ?? '?'}] ${f.lastError ?? ''}`);
        if (page.total > page.items.length) out(`… ${page.total - page.items.length} more`);
        return 0;
      });
    }
    case 'replay': {
      if (!sub) throw new ObmenError('config', 'obmen replay <route>: name the route');
      const route = ctx.config.routes.find((r) => r.name === sub);
      if (!route)
        throw new ObmenError(
          'config',
          `unknown route "${sub}"; configured: ${ctx.config.routes.map((r) => r.name).join(', ') || 'none'}`,
        );
      return withStore(ctx, async (store) => {
        const result = await replayRoute(store, route, { recordIds: values.id });
        out(`${result.queued} object(s) queued to resend on ${route.name}`);
        return 0;
      });
    }
    default:
      void arg;
      throw new ObmenError('config', `unknown command "${command}"; run "obmen help"`);
  }
}

/** Runs the CLI; returns the exit code. Errors become one clear line, never a stack trace. */
async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`obmen: ${message}\n`);
    if (process.env.OBMEN_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return error instanceof ObmenError && error.errorClass === 'config' ? 2 : 1;
  }
}

export { run as main };
