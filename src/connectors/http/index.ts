import type { RouteConfig } from '../../config/schema.ts';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  DeliveryItem,
  ReadRequest,
} from '../../core/connector.ts';
import { ObmenError } from '../../core/errors.ts';
import { HttpProtocolClient } from './client.ts';
import { ClientCredentialsTokens } from './oauth.ts';
import { writeBatch } from './sink.ts';
import { readPages } from './source.ts';
import { resolveHttpSystem } from './spec.ts';

/** obmen's own generic HTTP protocol, for custom systems (docs/connectors/http.md). */
export const httpConnector: ConnectorFactory = {
  kind: 'http',
  // The protocol carries canonical records as they are (docs/connectors/http.md).
  defaults: () => ({
    objects: [
      {
        object: 'item.data',
        fields: [
          { field: '*', from: ['*'], rule: 'every canonical field as it is (references in target ids)' },
        ],
      },
    ],
    deletion: 'deleted: true on the item',
    deactivates: true,
    withoutDefaults: true,
  }),
  create(ctx: ConnectorContext): Connector {
    const settings = resolveHttpSystem(ctx.systemName, ctx.system);
    const tokens = settings.oauth
      ? new ClientCredentialsTokens(ctx.http, ctx.systemName, settings.oauth, ctx.signal, ctx.clock)
      : undefined;
    const client = new HttpProtocolClient(ctx.http, ctx.systemName, settings, ctx.signal, tokens);
    const name = ctx.systemName;
    let closed = false;

    const ensureOpen = () => {
      if (closed) throw new ObmenError('config', `${name}: the http connector was closed; create a new one`);
    };

    const connector: Connector = {
      async check() {
        ensureOpen();
        const target = client.url(settings.healthPath);
        let status: number;
        try {
          status = (await client.probe(settings.healthPath)).status;
        } catch (cause) {
          const reason = cause instanceof Error ? cause.message : String(cause);
          throw new ObmenError(
            'config',
            `${name}: cannot reach ${target} (${reason}); check systems.${name}.url and that the system is running`,
            { system: name, code: 'UNREACHABLE', cause },
          );
        }
        if (status >= 200 && status < 300) return;
        const hint =
          status === 401 || status === 403
            ? `check systems.${name}.credentials`
            : `check systems.${name}.url points at an obmen http endpoint`;
        throw new ObmenError('config', `${name}: ${target} answered HTTP ${status}; ${hint}`, {
          system: name,
          code: `HTTP_${status}`,
        });
      },
      read(request: ReadRequest) {
        ensureOpen();
        return readPages(client, name, request);
      },
      async write(route: RouteConfig, items: DeliveryItem[]) {
        ensureOpen();
        return writeBatch(client, name, route, items);
      },
      async close() {
        closed = true;
      },
    };
    // Only an OAuth client can get new credentials by itself; a static token or password cannot.
    if (tokens) {
      connector.refreshAuth = async () => {
        ensureOpen();
        await tokens.refresh();
      };
    }
    return connector;
  },
};

export { resolveHttpSystem } from './spec.ts';
