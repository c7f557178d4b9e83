import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type Catalog, createCatalog } from './catalog.ts';
import { buildMetadata } from './edmx.ts';
import {
  HTML_ERROR_PAGE,
  NO_FAULTS,
  type OnecFaults,
  SERVICE_UNAVAILABLE_PAGE,
  seededRandom,
} from './faults.ts';
import { FilterError, parseFilter } from './filter.ts';
import { buildModel, EMPTY_GUID, indexOf, TAGS } from './model.ts';
import { type Answer, errorAnswer, OdataRequestError, toAtomEntry, toAtomFeed } from './wire.ts';

export interface OnecOdataEmulatorOptions {
  port?: number;
  host?: string;
  /** Publication name: the service is at /<base>/odata/standard.odata (default "ut11"). */
  base?: string;
  /** Products in Catalog_Номенклатура (default 1000, up to 1,000,000). */
  items?: number;
  /** Objects in Catalog_Контрагенты (default 100). */
  counterparties?: number;
  /** 1C users allowed in (default Обмен / секрет: a Cyrillic login, as many bases have). */
  users?: Array<{ login: string; password: string }>;
  /** Entity sets in the OData composition (default: all). Others answer 404 code 8. */
  published?: string[];
  faults?: Partial<OnecFaults>;
  seed?: number;
  /**
   * Catalogs described in $metadata only, to give it a real size (a УТ 11 publication has
   * ~4,000 types and 15 MB; about 3 KB each here). They hold no data.
   */
  extraCatalogs?: number;
  /**
   * Test instrument: $metadata stops after `afterBytes` until `until` settles. A client that
   * buffers whole answers never gets past that point; one that streams reads what came.
   */
  metadataHold?: { afterBytes: number; until: Promise<unknown> };
}

export interface OnecEmulatorStats {
  requests: number;
  gets: number;
  writes: number;
  posts: number;
  failed: number;
  hung: number;
  html: number;
  businessErrors: number;
  unauthorized: number;
  /** Writes carried out whose answer was never sent. */
  dropped: number;
  /** Bytes of $metadata written to clients so far (it is sent in 64 KB pieces, as it drains). */
  metadataBytesSent: number;
}

export interface OnecOdataEmulator {
  /** The service URL: http://host:port/<base>/odata/standard.odata */
  url: string;
  /** The publication URL: http://host:port/<base> */
  publicationUrl: string;
  catalog: Catalog;
  stats(): OnecEmulatorStats;
  setFaults(faults: Partial<OnecFaults>): void;
  close(): Promise<void>;
}

export const DEFAULT_USER = { login: 'Обмен', password: 'секрет' };
const PIECE = 64 * 1024;
export const MAX_ITEMS = 1_000_000;

export async function startOnecOdataEmulator(
  options: OnecOdataEmulatorOptions = {},
): Promise<OnecOdataEmulator> {
  const items = options.items ?? 1000;
  if (!Number.isInteger(items) || items < 0 || items > MAX_ITEMS) {
    throw new Error(`items must be an integer 0…${MAX_ITEMS}, got ${items}`);
  }
  const base = options.base ?? 'ut11';
  const prefix = `/${base}/odata/standard.odata`;
  const users = options.users ?? [DEFAULT_USER];
  const model = buildModel({ items, counterparties: options.counterparties ?? 100 });
  const published = new Set(options.published ?? model.map((set) => set.name));
  let faults: OnecFaults = { ...NO_FAULTS, ...options.faults };
  const random = seededRandom(options.seed ?? 1);
  const stats: OnecEmulatorStats = {
    requests: 0,
    gets: 0,
    writes: 0,
    posts: 0,
    failed: 0,
    hung: 0,
    html: 0,
    businessErrors: 0,
    unauthorized: 0,
    dropped: 0,
    metadataBytesSent: 0,
  };
  let serviceUrl = '';
  const catalog = createCatalog(model, () => serviceUrl);
  let metadata: string | undefined;
  const sockets = new Set<Socket>();

  const authorized = (req: IncomingMessage): boolean => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    // 1C's web server reads the Basic credentials as UTF-8 (cp1251 logins fail with 401.5 on IIS).
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const login = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    return colon >= 0 && users.some((u) => u.login === login && u.password === password);
  };

  /** Decides a fault for this request, counting down the deterministic ones first. */
  const pickFault = (isWrite: boolean): 'fail' | 'hang' | 'html' | 'business' | undefined => {
    if (faults.hangNext > 0) {
      faults.hangNext--;
      return 'hang';
    }
    if (faults.failNext > 0 && faults.failNextAfter > 0) {
      faults.failNextAfter--;
    } else if (faults.failNext > 0) {
      faults.failNext--;
      return 'fail';
    }
    if (faults.htmlNext > 0) {
      faults.htmlNext--;
      return 'html';
    }
    if (isWrite && faults.businessErrorNext > 0) {
      faults.businessErrorNext--;
      return 'business';
    }
    if (faults.hangRate > 0 && random() < faults.hangRate) return 'hang';
    if (faults.errorRate > 0 && random() < faults.errorRate) return 'fail';
    if (faults.htmlRate > 0 && random() < faults.htmlRate) return 'html';
    if (isWrite && faults.businessErrorRate > 0 && random() < faults.businessErrorRate) return 'business';
    return undefined;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    if ((req.url ?? '').startsWith('/_orders'))
      return send(res, control(req.method ?? 'GET', req.url ?? '', body));
    stats.requests++;
    if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return send(res, { status: 400, type: 'text/html', body: '<html><body>Bad Request</body></html>' });
    }
    if (!path.startsWith(prefix)) {
      // Not the publication: the web server's own 404 page, no odata.error.
      return send(res, {
        status: 404,
        type: 'text/html',
        body: '<html><body><h1>404 Not Found</h1></body></html>',
      });
    }
    if (!authorized(req)) {
      stats.unauthorized++;
      res.setHeader('WWW-Authenticate', 'Basic realm=""');
      return send(res, { status: 401, type: 'text/plain; charset=utf-8', body: '' });
    }
    const query = parseQuery(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    const json = wantsJson(query.get('$format'), req.headers.accept);
    const method = req.method ?? 'GET';
    const isWrite = method !== 'GET';
    const fault = pickFault(isWrite);
    if (fault === 'hang') {
      stats.hung++;
      return; // Never answered: the socket is destroyed when the client gives up or on close().
    }
    if (fault === 'fail') {
      stats.failed++;
      return send(res, { status: 503, type: 'text/html', body: SERVICE_UNAVAILABLE_PAGE });
    }
    if (fault === 'html') {
      stats.html++;
      return send(res, { status: 200, type: 'text/html; charset=utf-8', body: HTML_ERROR_PAGE });
    }
    if (fault === 'business') {
      stats.businessErrors++;
      return send(res, errorAnswer(500, '-1', faults.businessErrorMessage, json));
    }
    if (method === 'GET') stats.gets++;
    else stats.writes++;
    try {
      const answer = route(method, path.slice(prefix.length), query, body, json);
      if (answer.posted) stats.posts++;
      if (answer.piecewise) return await sendPiecewise(res, answer);
      if (isWrite && faults.dropAnswerNext > 0) {
        // Done in the base, but the answer never reaches the client (a proxy or network cut).
        faults.dropAnswerNext--;
        stats.dropped++;
        return;
      }
      send(res, answer);
    } catch (error) {
      if (error instanceof OdataRequestError)
        return send(res, errorAnswer(error.status, error.code, error.message, json));
      if (error instanceof FilterError) return send(res, errorAnswer(400, error.code, error.message, json));
      send(res, errorAnswer(500, '0', (error as Error).message, json));
    }
  }

  function route(
    method: string,
    rest: string,
    query: Map<string, string>,
    body: string,
    json: boolean,
  ): Answer & { posted?: boolean; piecewise?: boolean } {
    if (rest === '' || rest === '/') {
      const names = model
        .filter((set) => set.kind !== 'virtual' && published.has(set.name))
        .map((set) => set.name);
      if (json) {
        return jsonAnswer(200, {
          'odata.metadata': `${serviceUrl}/$metadata`,
          value: names.map((name) => ({ name, url: name })),
        });
      }
      return {
        status: 200,
        type: 'application/atomsvc+xml;charset=utf-8',
        body:
          `<?xml version="1.0" encoding="UTF-8"?><service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" xml:base="${serviceUrl}/"><workspace><atom:title>Default</atom:title>` +
          names
            .map((name) => `<collection href="${name}"><atom:title>${name}</atom:title></collection>`)
            .join('') +
          '</workspace></service>',
      };
    }
    if (rest === '/$metadata') {
      metadata ??= buildMetadata(
        model.filter((set) => published.has(set.name) || set.kind === 'virtual'),
        options.extraCatalogs ?? 0,
      );
      return { status: 200, type: 'application/xml;charset=utf-8', body: metadata, piecewise: true };
    }
    const match = /^\/([^/(]+)(?:\(([^)]*(?:'[^']*'[^)]*)*)\))?(?:\/(.+))?$/.exec(rest);
    if (!match) throw new OdataRequestError(400, '6', `Неверный URL: ${rest}`);
    const [, setName = '', keyText, tail] = match;
    const set = catalog.set(setName);
    if (!set || !published.has(setName)) {
      throw new OdataRequestError(404, '8', `"${setName}" entity is not found`);
    }
    const ref = keyText === undefined ? undefined : parseKey(keyText);

    if (ref === undefined) {
      if (tail === '$count' && method === 'GET') {
        const filterText = query.get('$filter');
        const filter = filterText ? parseFilter(filterText, catalog.fieldNames(setName)) : undefined;
        // 1C answers $count as a BOM-prefixed plain number (HCB).
        return { status: 200, type: 'text/plain;charset=utf-8', body: `\uFEFF${set.count(filter)}` };
      }
      if (tail !== undefined) {
        if (method !== 'GET') throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
        return collection(catalog.virtual(setName, tail, query), query, json);
      }
      if (method === 'GET') return collection({ name: setName, store: set, extra: undefined }, query, json);
      if (method === 'POST') {
        const created = catalog.create(setName, parseBody(body));
        return {
          ...entityAnswer(setName, created, json, 201),
          // 1C writes the Location header in raw UTF-8 (it broke a latin-1 proxy in M2).
          headers: {
            location: Buffer.from(`${serviceUrl}/${setName}(guid'${created['Ref_Key']}')`).toString('latin1'),
          },
        };
      }
      throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
    }

    if (tail === 'Post' || tail === 'Unpost') {
      if (method !== 'POST') throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
      catalog.post(setName, ref, tail === 'Post');
      return { status: 200, type: 'application/json;charset=utf-8', body: '', posted: tail === 'Post' };
    }
    if (tail !== undefined) throw new OdataRequestError(400, '6', `Сегмент пути ${tail} не найден!`);
    if (method === 'GET') {
      const found = set.get(ref);
      if (!found) throw notFound(setName);
      return entityAnswer(setName, catalog.project(setName, found, selectOf(query)), json, 200);
    }
    if (method === 'PATCH' || method === 'PUT' || method === 'MERGE') {
      const updated = catalog.update(setName, ref, parseBody(body), method === 'PUT');
      return entityAnswer(setName, updated, json, 200);
    }
    if (method === 'DELETE') {
      if (!catalog.remove(setName, ref)) throw notFound(setName);
      return { status: 204, type: 'text/plain', body: '' };
    }
    throw new OdataRequestError(405, '19', 'HTTP-метод не разрешён');
  }

  /**
   * The control API: what a 1C user does to an order after obmen wrote it (not part of 1C's
   * OData; no login, never counted in stats, no faults). JSON in and out.
   *   GET  /_orders                      orders with their Статус and register state
   *   POST /_orders/<Ref_Key>/status     {"status":"КВыполнению"}  the manager sets Статус and saves
   *   POST /_orders/<Ref_Key>/payment    {"percent":100}           a receipt against the order
   *   POST /_orders/<Ref_Key>/shipment   {"percent":100}           a Реализация against the order
   *   POST /_orders/<Ref_Key>/cancel                               every line cancelled, order closed
   */
  function control(method: string, url: string, body: string): Answer {
    const path = decodeURIComponent(url.split('?')[0] ?? '');
    try {
      if (path === '/_orders' && method === 'GET') {
        const orders = catalog.created('Document_ЗаказКлиента').map((doc) => ({
          Ref_Key: doc['Ref_Key'],
          Number: doc['Number'],
          НомерПоДаннымКлиента: doc['НомерПоДаннымКлиента'],
          Статус: doc['Статус'],
          Posted: doc['Posted'],
          state: catalog.orders.state(String(doc['Ref_Key'])) ?? null,
        }));
        return jsonAnswer(200, { value: orders });
      }
      const match = /^\/_orders\/([0-9a-fA-F-]{36})\/(status|payment|shipment|cancel)$/.exec(path);
      if (!match || method !== 'POST') {
        return jsonAnswer(404, {
          error: { code: 'NOT_FOUND', message: `no control endpoint ${method} ${path}` },
        });
      }
      const ref = match[1]!.toLowerCase();
      const input = body.trim() === '' ? {} : parseBody(body);
      const desk = catalog.orders;
      const state =
        match[2] === 'status'
          ? desk.setStatus(ref, String(input['status'] ?? ''))
          : match[2] === 'payment'
            ? desk.pay(ref, input['percent'] as number | undefined)
            : match[2] === 'shipment'
              ? desk.ship(ref, input['percent'] as number | undefined)
              : desk.cancel(ref);
      return jsonAnswer(200, { state, order: catalog.get('Document_ЗаказКлиента', ref) });
    } catch (error) {
      if (error instanceof OdataRequestError)
        return jsonAnswer(error.status, { error: { code: error.code, message: error.message } });
      return jsonAnswer(500, { error: { code: '0', message: (error as Error).message } });
    }
  }

  function collection(
    source: ReturnType<Catalog['virtual']>,
    query: Map<string, string>,
    json: boolean,
  ): Answer {
    const fields = catalog.fieldNames(source.name);
    const filterText = query.get('$filter');
    const filter = filterText ? parseFilter(filterText, fields) : source.extra;
    const combined =
      filter && source.extra && filter !== source.extra
        ? { op: 'and' as const, left: source.extra, right: filter }
        : filter;
    const orderBy = catalog.orderOf(source.name, query.get('$orderby'));
    const inlineCount = query.get('$inlinecount') === 'allpages';
    // DOC 17.4.6.2: with $inlinecount 1C ignores $skip and $top.
    const top = inlineCount ? Number.MAX_SAFE_INTEGER : numberParam(query, '$top', Number.MAX_SAFE_INTEGER);
    const skip = inlineCount ? 0 : numberParam(query, '$skip', 0);
    const rows = source.store.query(combined, orderBy, skip, top);
    const select = selectOf(query);
    const projected = rows.map((row) => catalog.project(source.name, row, select));
    if (!json)
      return {
        status: 200,
        type: 'application/atom+xml;charset=utf-8',
        body: toAtomFeed(serviceUrl, source.name, projected),
      };
    return jsonAnswer(200, {
      'odata.metadata': `${serviceUrl}/$metadata#${source.name}`,
      ...(inlineCount ? { 'odata.count': String(rows.length) } : {}),
      value: projected,
    });
  }

  function entityAnswer(
    setName: string,
    entity: Record<string, unknown>,
    json: boolean,
    status: number,
  ): Answer {
    if (!json)
      return {
        status,
        type: 'application/atom+xml;type=entry;charset=utf-8',
        body: toAtomEntry(serviceUrl, setName, entity, true),
      };
    return jsonAnswer(status, { 'odata.metadata': `${serviceUrl}/$metadata#${setName}/@Element`, ...entity });
  }

  const notFound = (setName: string) =>
    new OdataRequestError(
      404,
      '9',
      `Экземпляр сущности "${setName.replace(/^[A-Za-z]+_/, '')}" не найден по переданному ключу.`,
    );

  function selectOf(query: Map<string, string>): string[] | undefined {
    const text = query.get('$select');
    if (!text) return undefined;
    return text
      .split(',')
      .map((field) => field.trim())
      .filter(Boolean);
  }

  function send(res: ServerResponse, answer: Answer): void {
    if (res.writableEnded) return;
    const bytes = Buffer.from(answer.body, 'utf8');
    res.writeHead(answer.status, {
      'content-type': answer.type,
      'content-length': String(bytes.length),
      ...answer.headers,
    });
    res.end(bytes);
  }

  /** A big answer ($metadata) goes out in 64 KB pieces, each after the previous one drained. */
  async function sendPiecewise(res: ServerResponse, answer: Answer): Promise<void> {
    const bytes = Buffer.from(answer.body, 'utf8');
    res.writeHead(answer.status, { 'content-type': answer.type, 'content-length': String(bytes.length) });
    const hold = options.metadataHold;
    let held = false;
    for (let at = 0; at < bytes.length && !res.destroyed; at += PIECE) {
      if (hold && !held && at >= hold.afterBytes) {
        held = true;
        await hold.until.catch(() => {});
      }
      const piece = bytes.subarray(at, at + PIECE);
      stats.metadataBytesSent += piece.length;
      if (!res.write(piece))
        await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    res.end();
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        send(res, errorAnswer(500, '0', String(error), true));
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const publicationUrl = `http://${host}:${address.port}/${encodeURIComponent(base)}`;
  serviceUrl = `${publicationUrl}/odata/standard.odata`;
  let closing: Promise<void> | undefined;
  return {
    url: serviceUrl,
    publicationUrl,
    catalog,
    stats: () => ({ ...stats }),
    setFaults(next) {
      faults = { ...faults, ...next };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

function jsonAnswer(status: number, value: unknown): Answer {
  return {
    status,
    type: 'application/json;odata=minimalmetadata;charset=utf-8',
    body: JSON.stringify(value),
  };
}

/** Query parameters as 1C reads them: percent-decoding only — a "+" stays a "+". */
function parseQuery(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    try {
      result.set(decodeURIComponent(key), decodeURIComponent(value));
    } catch {
      throw new OdataRequestError(400, '14', 'Error parsing query option');
    }
  }
  return result;
}

/** $format=json (or application/json…) or an Accept asking for JSON; Atom XML otherwise, as 1C does. */
function wantsJson(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined)
    return format === 'json' || format.startsWith('application/json') || format.startsWith('json;');
  return (accept ?? '').includes('application/json');
}

function numberParam(query: Map<string, string>, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new OdataRequestError(400, '14', `Неверное значение параметра ${name}`);
  return value;
}

function parseKey(text: string): string {
  const match = /^(?:Ref_Key=)?guid'([0-9a-fA-F-]{36})'$/.exec(text.trim());
  if (!match) throw new OdataRequestError(400, '7', 'Не указана часть ключа');
  return match[1]!.toLowerCase();
}

function parseBody(body: string): Record<string, unknown> {
  try {
    const value = JSON.parse(body.replace(/^\uFEFF/, '')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // falls through to the 1C error below
  }
  throw new OdataRequestError(400, '2', 'Неверный формат запроса');
}

export { EMPTY_GUID, indexOf, TAGS };
