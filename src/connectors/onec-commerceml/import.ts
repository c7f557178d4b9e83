import { ingest } from '../../engine/ingest.ts';
import { asSourceItem, type IngestItem } from '../../engine/prepared.ts';
import { mapSourceItems } from '../../engine/route-mapping.ts';
import type { Runtime } from '../../engine/runtime.ts';
import { inSession } from '../../engine/session-scope.ts';
import { finishSession, startSession } from '../../engine/sessions.ts';
import { ExchangeFailure, type ImportFileEvent } from '../../exchange/commerceml/index.ts';
import {
  asBatches,
  type CmlEvent,
  CmlSyntaxError,
  parseCommerceMl,
  parseCommerceMlBatches,
  parseCommerceMlBatchesInWorker,
  parseCommerceMlInWorker,
} from '../../formats/commerceml/index.ts';
import type { SourceMapping } from '../../mapping/source.ts';

/** Russian names of canonical entities, for messages to the 1C administrator. */
const ENTITY_RU: Record<string, string> = {
  product_group: 'группа',
  property: 'свойство',
  unit: 'единица измерения',
  price_type: 'тип цен',
  price: 'цена',
  warehouse: 'склад',
  stock: 'остаток',
  product: 'товар',
  counterparty: 'контрагент',
  order: 'документ',
  order_status: 'состояние заказа',
};

// A session's error text is a readable summary; the count says how many there were in all.
const MAX_LISTED_ERRORS = 30;

export interface ImportDeps {
  runtime: Runtime;
  system: string;
  batchSize: number;
  /** Source mappings by entity for what this system pushes (pushMappingsOf). */
  mappings?: ReadonlyMap<string, SourceMapping>;
  /** Parse on a worker thread (options.parseThread); in this thread otherwise. */
  parseThread?: boolean;
  /** That thread also prepares the items for ingest (options.prepareOnParserThread). */
  prepareOnParserThread?: boolean;
  /** Told what the file holds, for `mode=deactivate` (deactivate.ts). */
  observe?: ImportObserver;
  /** What the parser read, as the hub should take it (sale-status.ts: orders and their states). */
  reading?: EventReading;
}

/** A step between the parser and the ingest that rewrites the stream of events. */
export interface EventReading {
  /** Entities whose items it reads `raw` of: the parser thread sends `raw` only where asked. */
  rawFor: readonly string[];
  read(events: AsyncIterable<CmlEvent>): AsyncIterable<CmlEvent>;
}

/** Watches one file's import: its package header, every Ид read (valid or not), the outcome. */
export interface ImportObserver {
  package(event: Extract<CmlEvent, { kind: 'package' }>): void;
  item(entity: string, externalId: string): void;
  finish(ok: boolean): Promise<void>;
}

interface Pending {
  items: IngestItem[];
  lines: Map<string, number>;
}

/**
 * The file's events, in the parser's batches. Parsing runs on its own thread, ahead of the ingest
 * here (two cores for a big catalog). With prepareOnParserThread that thread also validates and
 * writes out the items ingest takes as they are (engine/prepared.ts): the thread that writes the
 * database is what limits a big import. Items a source mapping or the sale import's reading
 * looks at stay objects.
 */
function parsedBatches(
  deps: ImportDeps,
  event: ImportFileEvent,
): AsyncIterable<readonly CmlEvent<IngestItem>[]> {
  const options = {
    signal: event.signal,
    fileLabel: event.filename,
    rawFor: [...(deps.mappings?.keys() ?? []), ...(deps.reading?.rawFor ?? [])],
    ...(event.received ? { received: event.received } : {}),
  };
  if (deps.reading) {
    const parse = deps.parseThread === false ? parseCommerceMl : parseCommerceMlInWorker;
    return asBatches(deps.reading.read(parse(event.path, options)));
  }
  if (deps.parseThread === false) return parseCommerceMlBatches(event.path, options);
  if (!deps.prepareOnParserThread) return parseCommerceMlBatchesInWorker(event.path, options);
  const { runtime } = deps;
  const entities = runtime.registry
    .names()
    .filter((entity) => !deps.mappings?.has(entity) && !runtime.ingest.ownership?.has(entity));
  return parseCommerceMlBatchesInWorker(event.path, {
    ...options,
    prepare: { entities, custom: [...runtime.config.entities] },
  });
}

/**
 * Streams one received file into the hub: parser events are grouped by entity into batches and
 * ingested with the 1C system as their source (links keyed by 1C Ид). A bad item is recorded
 * with file, line and element and the rest goes on; malformed XML fails the import with the
 * parser's Russian message. Re-importing the same file changes nothing (content hashes).
 */
export async function importExchangeFile(deps: ImportDeps, event: ImportFileEvent): Promise<string> {
  const { runtime, system } = deps;
  const store = runtime.store;
  const sessionId = await startSession(
    store,
    { kind: 'exchange', system, name: `commerceml ${event.type} ${event.filename}`, owner: runtime.owner },
    runtime.clock.now(),
  );
  const counts: Record<string, number> = {
    read: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    stale: 0,
    matched: 0,
    held: 0,
    invalid: 0,
    filtered: 0,
  };
  const errors: string[] = [];
  let errorCount = 0;
  const pending = new Map<string, Pending>();

  const recordError = (text: string) => {
    errorCount++;
    if (errors.length < MAX_LISTED_ERRORS) errors.push(text);
  };

  const flush = async (entity: string) => {
    const batch = pending.get(entity);
    if (!batch || batch.items.length === 0) return;
    pending.delete(entity);
    let items = batch.items;
    const where = (externalId: string) => {
      const line = batch.lines.get(externalId);
      return `${event.filename}${line ? `, строка ${line}` : ''}, ${ENTITY_RU[entity] ?? entity} ${externalId || '(без Ид)'}`;
    };
    // The source mapping for this entity, the same one a pull would apply (sources[].mapping).
    const mapping = deps.mappings?.get(entity);
    if (mapping) {
      const mapped = await mapSourceItems(mapping, items.map(asSourceItem));
      items = mapped.items;
      counts['filtered']! += mapped.skipped;
      counts['invalid']! += mapped.invalid.length;
      for (const bad of mapped.invalid) recordError(`${where(bad.externalId)}: ${bad.message}`);
    }
    const result = await ingest(runtime.ingest, { system, entity, items });
    counts['created']! += result.created;
    counts['updated']! += result.updated;
    counts['unchanged']! += result.unchanged;
    counts['stale']! += result.stale;
    counts['invalid']! += result.invalid.length;
    // Matching rules linked new objects to existing records, or held possible duplicates for a person.
    counts['matched']! += result.matched ?? 0;
    counts['held']! += result.held?.length ?? 0;
    for (const bad of result.invalid) recordError(`${where(bad.externalId)}: ${bad.message}`);
  };

  const report = () =>
    event.report(
      `Файл ${event.filename}: прочитано объектов ${counts['read']}, записано ${counts['created']! + counts['updated']!}, без изменений ${counts['unchanged']}, ошибок ${errorCount}`,
    );

  // An event into its entity's batch; the entity, when that batch is full. (No await here:
  // a big catalog is half a million events.)
  const take = (cml: CmlEvent<IngestItem>): string | undefined => {
    if (cml.kind === 'package') deps.observe?.package(cml);
    if (cml.kind === 'item') {
      deps.observe?.item(cml.entity, cml.item.externalId);
      counts['read']!++;
      counts[cml.entity] = (counts[cml.entity] ?? 0) + 1;
      let batch = pending.get(cml.entity);
      if (!batch) {
        batch = { items: [], lines: new Map() };
        pending.set(cml.entity, batch);
      }
      batch.items.push(cml.item);
      batch.lines.set(cml.item.externalId, cml.line);
      if (batch.items.length >= deps.batchSize) return cml.entity;
    } else if (cml.kind === 'itemError') {
      // A refused object is still in 1C's package: it must not count as missing.
      if (cml.externalId) deps.observe?.item(cml.entity, cml.externalId);
      recordError(
        `${event.filename}, строка ${cml.line}, ${ENTITY_RU[cml.entity] ?? cml.entity}${cml.externalId ? ` ${cml.externalId}` : ''}: ${cml.message}`,
      );
    }
    return undefined;
  };

  try {
    await inSession(sessionId, async () => {
      for await (const batch of parsedBatches(deps, event)) {
        for (const cml of batch) {
          // Between two events the import stops as soon as 1C has begun another exchange.
          if (event.signal.aborted) throw event.signal.reason ?? new Error('aborted');
          const full = take(cml);
          if (full !== undefined) {
            await flush(full);
            report();
          }
        }
      }
      for (const entity of [...pending.keys()]) await flush(entity);
    });
    await deps.observe?.finish(true);
  } catch (error) {
    await deps.observe?.finish(false).catch(() => {});
    counts['itemErrors'] = errorCount;
    if (error instanceof CmlSyntaxError) {
      // What was read before the fault is kept (each batch is whole); the failure names the spot.
      for (const entity of [...pending.keys()]) await flush(entity).catch(() => {});
      await finishSession(
        store,
        sessionId,
        { status: 'failed', counts, error: error.message },
        runtime.clock.now(),
      );
      throw new ExchangeFailure(error.message);
    }
    const aborted = event.signal.aborted;
    await finishSession(
      store,
      sessionId,
      {
        status: 'failed',
        counts,
        error: aborted
          ? 'прервано: 1С начала новый обмен (init)'
          : String((error as Error)?.message ?? error),
      },
      runtime.clock.now(),
    );
    if (aborted) throw new ExchangeFailure(`Импорт ${event.filename} прерван: начат новый обмен`);
    throw error;
  }

  counts['itemErrors'] = errorCount;
  const summary =
    errorCount > 0
      ? `${errors.join('\n')}${errorCount > errors.length ? `\n… и ещё ${errorCount - errors.length}` : ''}`
      : undefined;
  await finishSession(
    store,
    sessionId,
    { status: errorCount > 0 ? 'partial' : 'ok', counts, ...(summary ? { error: summary } : {}) },
    runtime.clock.now(),
  );
  if (errorCount > 0) {
    runtime.log.warn(
      { system, file: event.filename, errors: errorCount, first: errors[0] },
      'commerceml items refused',
    );
  }
  const written = counts['created']! + counts['updated']!;
  return (
    `Импорт ${event.filename} завершён: объектов ${counts['read']}, записано ${written}, без изменений ${counts['unchanged']}` +
    (counts['filtered']! > 0 ? `, отброшено фильтром источника ${counts['filtered']}` : '') +
    (counts['matched']! > 0 ? `, сопоставлено с существующими ${counts['matched']}` : '') +
    (counts['held']! > 0 ? `, отложено как возможные дубли ${counts['held']} (решение в obmen)` : '') +
    (errorCount > 0
      ? `, с ошибками ${errorCount} (первая: ${errors[0]}); подробности в журнале сеансов obmen`
      : '')
  );
}
