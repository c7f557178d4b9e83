import type { RouteConfig } from '../../config/schema.ts';
import type {
  Connector,
  ConnectorContext,
  ConnectorFactory,
  DeliveryItem,
  ReadRequest,
} from '../../core/connector.ts';
import { ObmenError } from '../../core/errors.ts';
import { OnecODataClient } from './client.ts';
import { looksLikeHtml, parseOnecError } from './errors.ts';
import { type OnecEntitySetInfo, readMetadata } from './metadata.ts';
import { writeOnec } from './sink.ts';
import { readOnec } from './source.ts';
import { resolveOnecSystem } from './spec.ts';

/** 1C:Enterprise 8.3 standard OData interface (docs/connectors/onec-odata.md). */
export const onecOdataConnector: ConnectorFactory = {
  kind: 'onec-odata',
  defaults: () => ({
    objects: [],
    deletion: 'DeletionMark = true (a deletion mark, as 1C users expect; never a physical DELETE)',
    deactivates: true,
    withoutDefaults: 'the onec-odata connector has no published default table',
  }),
  create(ctx: ConnectorContext): Connector {
    const client = clientFor(ctx);
    const name = ctx.systemName;
    let closed = false;
    const ensureOpen = () => {
      if (closed)
        throw new ObmenError('config', `${name}: the onec-odata connector was closed; create a new one`);
    };
    return {
      async check() {
        ensureOpen();
        await checkService(client, name);
      },
      async discover() {
        ensureOpen();
        const sets = await discoverWith(client);
        return sets.map((set) => ({
          name: set.name,
          fields: [
            ...set.fields.map((field) => field.name),
            ...Object.entries(set.tabularSections).flatMap(([section, fields]) =>
              fields.map((field) => `${section}[].${field.name}`),
            ),
          ],
        }));
      },
      read(request: ReadRequest) {
        ensureOpen();
        return readOnec(client, name, request);
      },
      async write(route: RouteConfig, items: DeliveryItem[]) {
        ensureOpen();
        return writeOnec(client, name, route, items);
      },
      async close() {
        closed = true;
      },
    };
  },
};

function clientFor(ctx: ConnectorContext): OnecODataClient {
  return new OnecODataClient(
    ctx.http,
    ctx.systemName,
    resolveOnecSystem(ctx.systemName, ctx.system),
    ctx.signal,
  );
}

/**
 * Entity sets, virtual tables and their fields from $metadata, for `obmen discover <system>`.
 * The body streams from the shared HTTP client into a SAX reader piece by piece, so neither
 * the whole document nor a DOM is ever held: only names and types are kept.
 */
export async function discoverOnecOdata(ctx: ConnectorContext): Promise<OnecEntitySetInfo[]> {
  return discoverWith(clientFor(ctx));
}

async function discoverWith(client: OnecODataClient): Promise<OnecEntitySetInfo[]> {
  const response = await client.metadata();
  try {
    return await readMetadata(response.body);
  } finally {
    // A parse error leaves the rest unread: stop the transfer and free the request's slot.
    await response.cancel();
  }
}

async function checkService(client: OnecODataClient, name: string): Promise<void> {
  const target = `${client.serviceUrl}/`;
  let response: Awaited<ReturnType<OnecODataClient['probe']>>;
  try {
    response = await client.probe();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ObmenError(
      'config',
      `${name}: cannot reach 1C at ${target} (${reason}); check systems.${name}.url and that the web server publishing the base is running`,
      { system: name, code: 'UNREACHABLE', cause },
    );
  }
  const { status } = response;
  const said = parseOnecError(response.text());
  const quote = said?.message ? ` («${said.message}»)` : '';
  if (status === 401 || status === 403) {
    throw new ObmenError(
      'config',
      `${name}: 1C refused login and password (HTTP ${status})${quote}; check systems.${name}.credentials and that ` +
        'this 1C user may use the standard OData interface',
      { system: name, code: `HTTP_${status}` },
    );
  }
  if (status === 404) {
    throw new ObmenError(
      'config',
      `${name}: no OData interface at ${target} (HTTP 404); publish the base on the web server with ` +
        '«Публиковать стандартный интерфейс OData» ticked, and check the URL ends with the publication name',
      { system: name, code: 'HTTP_404' },
    );
  }
  if (status < 200 || status >= 300) {
    throw new ObmenError('config', `${name}: 1C answered HTTP ${status} at ${target}${quote}`, {
      system: name,
      code: `HTTP_${status}`,
    });
  }
  if (looksLikeHtml(response)) {
    throw new ObmenError(
      'config',
      `${name}: ${target} answered with an HTML page, not 1C's OData (a login or error page of the web server); check the URL and the publication`,
      { system: name, code: 'HTML_200' },
    );
  }
  let sets: unknown;
  try {
    sets = (JSON.parse(response.text().replace(/^\uFEFF/, '')) as { value?: unknown }).value;
  } catch {
    sets = undefined;
  }
  if (!Array.isArray(sets)) {
    throw new ObmenError('config', `${name}: ${target} is not a 1C OData service root (no "value" list)`, {
      system: name,
      code: 'PROTOCOL',
    });
  }
  if (sets.length === 0) {
    throw new ObmenError(
      'config',
      `${name}: 1C publishes no objects over OData yet; add them in 1C with «Установка стандартного интерфейса OData» ` +
        '(УстановитьСоставСтандартногоИнтерфейсаOData)',
      { system: name, code: 'EMPTY_COMPOSITION' },
    );
  }
}

export type { OnecEntitySetInfo, OnecField } from './metadata.ts';
export { MetadataReader, readMetadata } from './metadata.ts';
export { resolveOnecSystem } from './spec.ts';
