import { createReadStream } from 'node:fs';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SourceItem } from '../../core/connector.ts';
import { ingest } from '../../engine/ingest.ts';
import type { Runtime } from '../../engine/runtime.ts';
import { inSession } from '../../engine/session-scope.ts';
import { finishSession, startSession } from '../../engine/sessions.ts';
import { IdSet } from '../../formats/commerceml/id-set.ts';
import type { CmlDocumentKind, CmlEvent } from '../../formats/commerceml/index.ts';
import type { ImportObserver } from './import.ts';
import type { OnecCommercemlSettings } from './spec.ts';

/**
 * What 1C-Bitrix does with goods missing from a full catalog (ELEMENT_ACTION / SECTION_ACTION,
 * and `mode=deactivate`): after a FULL package, goods and groups that came from this 1C before
 * and were not in the package are deactivated. In obmen they are ingested as deleted, so every
 * target deactivates them its own way.
 *
 * While files are imported, a tracker notes in the exchange folder which packages came (kind,
 * `СодержитТолькоИзменения`, whether the import succeeded) and every goods and group Ид seen.
 * `mode=deactivate` (or `mode=complete`, if 1C sent no deactivate) then compares the links of
 * this 1C system with what was seen. Nothing is deactivated after a package with only changes,
 * after a failed import, or with `options.missingAfterFullImport: keep`. The notes live in the
 * exchange folder, which `mode=init` empties: they always describe the current exchange, and
 * they survive a restart of obmen between two calls of 1C.
 */

// Names starting with a dot: no upload may have one (exchange/commerceml/safe-path.ts).
const PACKAGES_FILE = '.obmen-packages.jsonl';
const DONE_FILE = '.obmen-deactivated';
const seenFile = (entity: string) => `.obmen-seen-${entity}.jsonl`;

/** Entities whose missing objects are deactivated: goods (with their variants) and groups. */
const TRACKED = new Set(['product', 'product_group']);
/** Ids buffered before they are appended to the exchange folder. */
const FLUSH_EVERY = 5000;
/** Links read per query while looking for missing objects. */
const SCAN_PAGE = 1000;

/** One imported file, as deactivation needs to know it. */
interface PackageNote {
  file: string;
  kind: CmlDocumentKind;
  onlyChanges: boolean;
  /** A <Каталог> (goods) was in it, not only a <Классификатор>. */
  catalog: boolean;
  at: number;
  ok: boolean;
}

/** The folder of the catalog exchange (the exchange server's `<workDir>/catalog`). */
export function catalogExchangeDir(settings: Pick<OnecCommercemlSettings, 'dataDir'>): string {
  return join(settings.dataDir, 'catalog');
}

/** Notes what one imported catalog file held (see the module comment). */
export class ImportTracker implements ImportObserver {
  private note: PackageNote;
  private buffered = new Map<string, string[]>();
  private count = 0;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly dir: string,
    file: string,
    now: number,
  ) {
    this.note = { file, kind: 'unknown', onlyChanges: false, catalog: false, at: now, ok: false };
  }

  package(event: Extract<CmlEvent, { kind: 'package' }>): void {
    this.note = {
      ...this.note,
      kind: event.documentKind,
      onlyChanges: event.onlyChanges,
      catalog: event.documentKind === 'import' && event.catalogId !== undefined,
    };
  }

  item(entity: string, externalId: string): void {
    if (!TRACKED.has(entity) || externalId === '') return;
    let list = this.buffered.get(entity);
    if (!list) {
      list = [];
      this.buffered.set(entity, list);
    }
    list.push(JSON.stringify(externalId));
    if (++this.count >= FLUSH_EVERY) this.flush();
  }

  /** Writes the note; an import that failed (or whose ids could not be written) says so. */
  async finish(ok: boolean): Promise<void> {
    this.flush();
    await this.writing;
    const note: PackageNote = { ...this.note, ok: ok && !this.failed };
    await appendFile(join(this.dir, PACKAGES_FILE), `${JSON.stringify(note)}\n`);
  }

  private flush(): void {
    const batches = [...this.buffered];
    this.buffered = new Map();
    this.count = 0;
    this.writing = this.writing.then(async () => {
      for (const [entity, ids] of batches) {
        await appendFile(join(this.dir, seenFile(entity)), `${ids.join('\n')}\n`).catch(() => {
          // Without every id seen, missing goods cannot be told apart: deactivation will refuse.
          this.failed = true;
        });
      }
    });
  }
}

export interface DeactivateDeps {
  runtime: Runtime;
  system: string;
  settings: OnecCommercemlSettings;
}

/** What deactivation will do for this exchange, or why it does nothing. */
type Plan =
  | { run: false; reason: string }
  | { run: true; goods: boolean; groups: boolean; variantsByOffers: boolean };

/**
 * `mode=deactivate&timestamp=…` (and `mode=complete` when 1C sent no deactivate): ingests the
 * goods and groups missing from this exchange's full package as deleted. Returns the text 1C
 * shows after `success`. `timestamp` is checkauth's: packages imported before it (an older
 * exchange) are not looked at, as Bitrix looks only at catalogs imported since then.
 */
export async function deactivateMissing(
  deps: DeactivateDeps,
  timestamp: number,
  trigger: 'deactivate' | 'complete',
): Promise<string> {
  const { runtime, system, settings } = deps;
  const dir = catalogExchangeDir(settings);
  const done = join(dir, DONE_FILE);
  if (trigger === 'complete' && (await exists(done))) return 'Обмен завершён';
  const plan = await planFor(dir, timestamp * 1000, settings.missingAfterFullImport);
  const sessionId = await startSession(
    runtime.store,
    { kind: 'exchange', system, name: `commerceml catalog ${trigger}: missing goods`, owner: runtime.owner },
    runtime.clock.now(),
  );
  const counts = { products: 0, variants: 0, product_groups: 0, unchanged: 0, skipped: 0 };
  try {
    if (!plan.run) {
      counts.skipped = 1;
      await finishSession(
        runtime.store,
        sessionId,
        { status: 'ok', counts, error: plan.reason },
        runtime.clock.now(),
      );
      await writeFile(done, plan.reason);
      return `Деактивация не выполнялась: ${plan.reason}`;
    }
    await inSession(sessionId, async () => {
      const seen = await loadSeen(dir, 'product');
      const seenGroups = await loadSeen(dir, 'product_group');
      const ingestGone = async (entity: string, ids: string[]) => {
        if (ids.length === 0) return 0;
        const items: SourceItem[] = ids.map((externalId) => ({ externalId, data: {}, deleted: true }));
        let changed = 0;
        for (let at = 0; at < items.length; at += settings.batchSize) {
          const result = await ingest(runtime.ingest, {
            system,
            entity,
            items: items.slice(at, at + settings.batchSize),
          });
          changed += result.created + result.updated;
          counts.unchanged += result.unchanged;
        }
        return changed;
      };

      // Goods, and variants (`good#characteristic`) not in a full offers package.
      const goneGoods = new Set<string>();
      const goneVariants: string[] = [];
      if (plan.goods || plan.variantsByOffers) {
        for await (const ids of liveIds(runtime, 'product', system)) {
          const gone: string[] = [];
          for (const id of ids) {
            if (seen.has(id)) continue;
            const variant = id.includes('#');
            if (!variant && plan.goods) {
              goneGoods.add(id);
              gone.push(id);
            } else if (variant && plan.variantsByOffers) {
              goneVariants.push(id);
            }
          }
          counts.products += await ingestGone('product', gone);
        }
      }
      // A good that went takes its variants along, whatever the offers said.
      if (goneGoods.size > 0 && !plan.variantsByOffers) {
        for await (const ids of liveIds(runtime, 'product', system)) {
          for (const id of ids) {
            const hash = id.indexOf('#');
            if (hash > 0 && goneGoods.has(id.slice(0, hash))) goneVariants.push(id);
          }
        }
      }
      counts.variants += await ingestGone('product', goneVariants);
      if (plan.groups) {
        for await (const ids of liveIds(runtime, 'product_group', system)) {
          counts.product_groups += await ingestGone(
            'product_group',
            ids.filter((id) => !seenGroups.has(id)),
          );
        }
      }
    });
    await finishSession(runtime.store, sessionId, { status: 'ok', counts }, runtime.clock.now());
    await writeFile(done, JSON.stringify(counts));
  } catch (error) {
    await finishSession(
      runtime.store,
      sessionId,
      { status: 'failed', counts, error: (error as Error).message },
      runtime.clock.now(),
    );
    throw error;
  }
  runtime.log.info({ system, ...counts }, 'goods missing from the full catalog were deactivated');
  return (
    'Деактивированы отсутствующие в полной выгрузке: ' +
    `товаров ${counts.products}, характеристик ${counts.variants}, групп ${counts.product_groups}`
  );
}

async function planFor(dir: string, since: number, setting: 'deactivate' | 'keep'): Promise<Plan> {
  if (setting === 'keep') {
    return {
      run: false,
      reason: 'в настройках obmen отсутствующие товары сохраняются (missingAfterFullImport: keep)',
    };
  }
  const notes = (await readNotes(dir)).filter((note) => note.at >= since);
  const failed = notes.find((note) => !note.ok);
  if (failed) return { run: false, reason: `импорт файла ${failed.file} не завершился успешно` };
  const imports = notes.filter((note) => note.kind === 'import');
  if (imports.length === 0) return { run: false, reason: 'в этом обмене не было файла каталога (import)' };
  const partial = imports.find((note) => note.onlyChanges);
  if (partial) {
    return {
      run: false,
      reason: `файл ${partial.file} содержит только изменения (СодержитТолькоИзменения), а не полную выгрузку`,
    };
  }
  const offers = notes.filter((note) => note.kind === 'offers');
  return {
    run: true,
    goods: imports.some((note) => note.catalog),
    groups: await exists(join(dir, seenFile('product_group'))),
    variantsByOffers: offers.length > 0 && offers.every((note) => !note.onlyChanges),
  };
}

async function readNotes(dir: string): Promise<PackageNote[]> {
  let text: string;
  try {
    text = await readFile(join(dir, PACKAGES_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PackageNote);
}

/** The ids seen in this exchange, for one entity, in a compact set (16 bytes per id). */
async function loadSeen(dir: string, entity: string): Promise<IdSet> {
  const set = new IdSet();
  const path = join(dir, seenFile(entity));
  if (!(await exists(path))) return set;
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) if (line) set.add(JSON.parse(line) as string);
  return set;
}

/** Ids this 1C system has for live (not deleted) records of an entity, page by page. */
async function* liveIds(runtime: Runtime, entity: string, system: string): AsyncGenerator<string[]> {
  let after: string | undefined;
  for (;;) {
    let query = runtime.store.db
      .selectFrom('links')
      .innerJoin('records', (join) =>
        join.onRef('records.entity', '=', 'links.entity').onRef('records.id', '=', 'links.record_id'),
      )
      .select('links.external_id')
      .where('links.entity', '=', entity)
      .where('links.system', '=', system)
      .where('records.deleted', '=', 0)
      .orderBy('links.external_id')
      .limit(SCAN_PAGE);
    if (after !== undefined) query = query.where('links.external_id', '>', after);
    const rows = await query.execute();
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.external_id;
    yield rows.map((row) => row.external_id);
    if (rows.length < SCAN_PAGE) return;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
