import { mkdir } from 'node:fs/promises';
import type { Connector, ConnectorContext, ConnectorFactory } from '../../core/connector.ts';
import { configError } from '../../core/errors.ts';
import { pushMappingsOf } from '../../engine/route-mapping.ts';
import type { Runtime } from '../../engine/runtime.ts';
import {
  createExchangeServer,
  type ExchangeServer,
  sameCredentials,
} from '../../exchange/commerceml/index.ts';
import { catalogExchangeDir, deactivateMissing, ImportTracker } from './deactivate.ts';
import { mountExchange } from './endpoint.ts';
import { importExchangeFile } from './import.ts';
import { InboxRecorder } from './inbox.ts';
import { infoXml } from './info.ts';
import { confirmOrders, queryOrders } from './orders-export.ts';
import { saleDocuments } from './sale-status.ts';
import { dbSessionStore } from './session-store.ts';
import { resolveOnecCommercemlSystem } from './spec.ts';

/**
 * obmen as the "site" of 1C's standard exchange (docs/connectors/onec-commerceml.md): 1C pushes
 * its catalog and pulls orders through `/bitrix/admin/1c_exchange.php` exactly as with
 * 1C-Bitrix. Passive: the worker never delivers to it; 1C's `mode=query` takes the orders.
 */
export const onecCommercemlConnector: ConnectorFactory = {
  kind: 'onec-commerceml',
  create(ctx: ConnectorContext): Connector {
    const settings = resolveOnecCommercemlSystem(ctx.systemName, ctx.system);
    const name = ctx.systemName;
    let server: ExchangeServer | undefined;
    let closed = false;

    return {
      passive: true,
      async check() {
        if (closed) throw configError(`${name}: the onec-commerceml connector was closed`);
        try {
          await mkdir(settings.dataDir, { recursive: true });
        } catch (cause) {
          throw configError(
            `${name}: cannot create the exchange folder ${settings.dataDir} (${(cause as Error).message}); set systems.${name}.options.dataDir to a writable folder`,
            { system: name, cause },
          );
        }
      },
      async mountInbound(app, runtime: Runtime) {
        const inbox = new InboxRecorder(runtime.store, name, () => runtime.clock.now());
        // What 1C pushes goes through the source mappings of this system, as a pull would.
        const mappings = pushMappingsOf(runtime.sources, runtime.sourceMappings, name);
        const deps = { runtime, system: name, settings };
        server = createExchangeServer({
          encoding: settings.encoding,
          zip: settings.zip,
          fileLimit: settings.fileLimit,
          maxFileBytes: settings.maxFileBytes,
          maxUnpackedBytes: settings.maxUnpackedBytes,
          importStepMs: settings.importStepSeconds * 1000,
          importWhileReceiving: settings.importWhileReceiving,
          workDir: settings.dataDir,
          sessions: dbSessionStore(runtime.store, name, () => runtime.clock.now()),
          saleVersion: settings.ordersVersion === '3.1' ? '3.1' : '2.09',
          now: () => runtime.clock.now(),
          onError: (error, where) => ctx.log.error({ err: error, ...where }, 'commerceml exchange error'),
          handlers: {
            authenticate: (login, password) =>
              sameCredentials({ login, password }, { login: settings.login, password: settings.password }),
            fileReceived: (event) => inbox.received(event),
            importFile: async (event) => {
              try {
                const observe =
                  event.type === 'catalog'
                    ? new ImportTracker(catalogExchangeDir(settings), event.filename, runtime.clock.now())
                    : undefined;
                // 1C's order documents carry the order's state: read as order_status too.
                const reading = event.type === 'sale' ? saleDocuments(runtime, name, settings) : undefined;
                const message = await importExchangeFile(
                  {
                    runtime,
                    system: name,
                    batchSize: settings.batchSize,
                    mappings,
                    parseThread: settings.parseThread,
                    prepareOnParserThread: settings.prepareOnParserThread,
                    ...(observe ? { observe } : {}),
                    ...(reading ? { reading } : {}),
                  },
                  event,
                );
                await inbox.finished(event.path, undefined);
                return message;
              } catch (error) {
                await inbox.finished(event.path, (error as Error).message).catch(() => {});
                throw error;
              }
            },
            query: (session) => queryOrders(deps, session),
            confirm: async (session) => {
              await confirmOrders(deps, session);
            },
            info: async () => infoXml(settings),
            deactivate: (_session, timestamp) => deactivateMissing(deps, timestamp, 'deactivate'),
            complete: (session) => deactivateMissing(deps, session.timestamp, 'complete'),
          },
        });
        await mountExchange(app, name, server);
      },
      async close() {
        if (closed) return;
        closed = true;
        await server?.close();
      },
    };
  },
};

export { resolveOnecCommercemlSystem } from './spec.ts';
