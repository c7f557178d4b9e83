import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ReceivedBytes } from '../../formats/commerceml/received-bytes.ts';
import { parseBasicAuth } from './basic-auth.ts';
import {
  type ExchangeEncoding,
  type ExchangeReply,
  failure,
  progress,
  success,
  textReply,
  xmlReply,
} from './reply.ts';
import { checkUploadPath } from './safe-path.ts';
import {
  type ExchangeSession,
  type ExchangeSessionStore,
  type ExchangeType,
  hashSecret,
  newSessionSecrets,
} from './session-store.ts';
import { ExchangeFailure, StepJobs } from './step-jobs.ts';
import { UnsafeArchiveError, type UnzipWatch, unzipSafely } from './unzip.ts';
import { UploadTooLargeError, UploadWriter } from './uploads.ts';
import { readWorkDirState, resetWorkDir, writeWorkDirState } from './work-dir.ts';

/**
 * The server side of 1C's "Обмен с сайтом" protocol (Bitrix's 1c_exchange.php): checkauth,
 * init, file, import, deactivate, complete for `type=catalog`; checkauth, init, query, success,
 * file, import, info for `type=sale`. It knows nothing about obmen's store: what a received
 * file, an import, an orders query or a confirmation means is decided by the handlers, so the
 * 1C-Bitrix site emulator can reuse the same machine.
 */

/** One request as the web framework hands it over. */
export interface ExchangeRequest {
  query: Record<string, string | undefined>;
  authorization?: string | undefined;
  cookie?: string | undefined;
  /** The raw request body (`mode=file`); read only by the modes that take one. */
  body?: AsyncIterable<Uint8Array> | undefined;
}

export interface FileReceivedEvent {
  session: ExchangeSession;
  type: ExchangeType;
  filename: string;
  path: string;
  /** Size and SHA-256 of the whole file as received so far (all chunks). */
  size: number;
  sha256: string;
}

export interface ImportFileEvent {
  session: ExchangeSession;
  type: ExchangeType;
  filename: string;
  path: string;
  signal: AbortSignal;
  report(progress: string): void;
  /**
   * Set when the import began while 1C was still sending the file, or while it was unpacked
   * from 1C's archive (importWhileReceiving): read only what was written, and wait for the rest.
   */
  received?: ReceivedBytes;
}

/** What the exchange means to its host. Throw ExchangeFailure to answer `failure\n<message>`. */
export interface ExchangeHandlers {
  authenticate(login: string, password: string): boolean | Promise<boolean>;
  /** Called after a chunk is on disk and before `success` is answered. */
  fileReceived?(event: FileReceivedEvent): Promise<void>;
  /** Imports one uploaded file; resolves with the text after `success`. */
  importFile(event: ImportFileEvent): Promise<string>;
  /** `type=sale&mode=query`: the orders document, already encoded. */
  query?(session: ExchangeSession): Promise<Buffer>;
  /** `type=sale&mode=success`: 1C confirms it took the last query's orders. */
  confirm?(session: ExchangeSession): Promise<void>;
  /** `type=sale&mode=info`: statuses, payment systems, delivery services (encoded XML). */
  info?(session: ExchangeSession): Promise<Buffer>;
  deactivate?(session: ExchangeSession, timestamp: number): Promise<string>;
  complete?(session: ExchangeSession): Promise<string>;
}

export interface ExchangeServerOptions {
  encoding: ExchangeEncoding;
  zip: boolean;
  /** Chunk size announced at init (`file_limit=`). */
  fileLimit: number;
  /** Largest file accepted across all its chunks. */
  maxFileBytes: number;
  maxUnpackedBytes: number;
  /** How long one `import` call may wait for the background work before answering `progress`. */
  importStepMs: number;
  /**
   * Start importing a catalog XML file with its first chunk instead of at `mode=import`, so the
   * import runs while 1C sends the rest; from a zip archive, the first import file while it is
   * unpacked. Off: a file is read once it is whole (Bitrix's way).
   */
  importWhileReceiving?: boolean;
  /** Root of the upload folders: `<workDir>/catalog`, `<workDir>/sale`. */
  workDir: string;
  sessions: ExchangeSessionStore;
  handlers: ExchangeHandlers;
  /** `version=` answered to `type=sale&mode=init` when 1C sent one (Bitrix answers its own). */
  saleVersion?: string;
  cookieName?: string;
  now?: () => number;
  /** Unexpected errors (bugs, disk trouble) are reported here; 1C gets a generic Russian failure. */
  onError?: (error: unknown, context: { type: string; mode: string }) => void;
}

export interface ExchangeServer {
  handle(request: ExchangeRequest): Promise<ExchangeReply>;
  close(): Promise<void>;
}

const TYPES: readonly ExchangeType[] = ['catalog', 'sale'];
const DEFAULT_COOKIE = 'PHPSESSID';

// Texts 1C shows its administrator; Bitrix's own wording where it is known.
const MSG = {
  unknownType: 'Unknown command type.',
  auth: 'Ошибка авторизации: неверный логин или пароль обмена (проверьте настройки узла обмена в 1С)',
  noSession:
    'Сеанс обмена не найден или устарел: повторите обмен (1С заново выполнит checkauth). Проверьте, что cookie сеанса передаётся',
  sourceCheck:
    'Ошибка проверки источника запроса. Обновите модуль обмена или отключите проверку в настройках компонента.',
  internal: 'Внутренняя ошибка сервера обмена obmen; подробности в журнале obmen',
};

export function createExchangeServer(options: ExchangeServerOptions): ExchangeServer {
  const enc = options.encoding;
  const now = options.now ?? Date.now;
  const cookieName = options.cookieName ?? DEFAULT_COOKIE;
  const uploads = new UploadWriter(options.maxFileBytes);
  const jobs = new StepJobs((error) => {
    if (error instanceof ExchangeFailure || error instanceof UnsafeArchiveError) return error.message;
    options.onError?.(error, { type: 'import', mode: 'import' });
    return MSG.internal;
  });
  const dirOf = (type: ExchangeType) => join(options.workDir, type);

  async function sessionOf(request: ExchangeRequest): Promise<ExchangeSession | ExchangeReply> {
    const cookie = readCookie(request.cookie, cookieName);
    const session = cookie ? await options.sessions.find(hashSecret(cookie)) : undefined;
    if (!session) return failure(enc, MSG.noSession);
    const sessid = request.query['sessid'];
    if (sessid !== undefined && hashSecret(sessid) !== session.sessidHash)
      return failure(enc, MSG.sourceCheck);
    return session;
  }

  async function checkauth(type: ExchangeType, request: ExchangeRequest): Promise<ExchangeReply> {
    const credentials = parseBasicAuth(request.authorization);
    if (!credentials || !(await options.handlers.authenticate(credentials.login, credentials.password))) {
      return failure(enc, MSG.auth);
    }
    const secrets = newSessionSecrets();
    const cookieHash = hashSecret(secrets.cookie);
    const timestamp = Math.floor(now() / 1000);
    await options.sessions.save({
      key: cookieHash.slice(0, 16),
      cookieHash,
      sessidHash: hashSecret(secrets.sessid),
      type,
      login: credentials.login,
      createdAt: now(),
      timestamp,
      version: undefined,
    });
    // Bitrix's catalog component prints five lines, the sale component four (no timestamp).
    const lines = [cookieName, secrets.cookie, `sessid=${secrets.sessid}`];
    if (type === 'catalog') lines.push(`timestamp=${timestamp}`);
    const reply = success(enc, ...lines);
    reply.headers = { 'set-cookie': `${cookieName}=${secrets.cookie}; Path=/; HttpOnly` };
    return reply;
  }

  async function init(type: ExchangeType, session: ExchangeSession, request: ExchangeRequest) {
    const dir = dirOf(type);
    await jobs.cancel(`${type}:`);
    forgetReceiving(type);
    uploads.forget(dir);
    await resetWorkDir(dir);
    const lines = [`zip=${options.zip ? 'yes' : 'no'}`, `file_limit=${options.fileLimit}`];
    const version = request.query['version'];
    if (version) {
      await options.sessions.setVersion(session.key, version);
      session.version = version;
      if (type === 'sale')
        lines.push(`sessid=${request.query['sessid'] ?? ''}`, `version=${options.saleVersion ?? '2.09'}`);
    }
    // init answers its settings without a leading "success" line.
    return textReply(lines, enc);
  }

  async function file(type: ExchangeType, session: ExchangeSession, request: ExchangeRequest) {
    const checked = checkUploadPath(request.query['filename']);
    if (!checked.ok) return failure(enc, `Файл не принят: ${checked.reason}`);
    const dir = dirOf(type);
    const path = join(dir, checked.path);
    let state: { size: number; sha256: string };
    try {
      state = await uploads.append(path, request.body ?? emptyBody());
    } catch (error) {
      if (error instanceof UploadTooLargeError)
        return failure(enc, `Файл ${checked.path} не принят: ${error.message}`);
      throw error;
    }
    if (/\.zip$/i.test(checked.path)) {
      const work = await readWorkDirState(dir);
      if (!work.archives.includes(checked.path)) {
        work.archives.push(checked.path);
        await writeWorkDirState(dir, work);
      }
    }
    await options.handlers.fileReceived?.({ session, type, filename: checked.path, path, ...state });
    if (options.importWhileReceiving && type === 'catalog' && /\.xml$/i.test(checked.path)) {
      importWhileReceiving(type, session, checked.path, path, state.size);
    }
    // Old sale protocol (no version at init): the document is processed within the file call.
    if (type === 'sale' && !session.version && /\.xml$/i.test(checked.path)) {
      const outcome = await importStep(type, session, checked.path, 30 * 60_000);
      return outcome;
    }
    return success(enc);
  }

  /**
   * 1C sends files one after another, each whole before the next, and then imports each: the
   * first chunk of a catalog file starts its import, which reads what has arrived and waits for
   * more. The first chunk of another file, or `mode=import` for this one, says it is whole.
   * Only one file is followed at a time, so files are still imported in the order 1C sent them.
   * A zip archive is followed the same way while it is unpacked (importStep).
   */
  const receiving = new Map<string, ReceivedBytes>();

  function importWhileReceiving(
    type: ExchangeType,
    session: ExchangeSession,
    filename: string,
    path: string,
    size: number,
  ): void {
    const key = importKey(type, filename);
    for (const [other, received] of receiving) if (other !== key) received.finish();
    const received = receiving.get(key) ?? followFile(type, session, filename, path);
    received?.grow(size);
  }

  /**
   * Starts the import of a file that is still being written (received or unpacked), unless
   * another import of this exchange runs; the bytes it may read are told to what it returns.
   */
  function followFile(
    type: ExchangeType,
    session: ExchangeSession,
    filename: string,
    path: string,
  ): ReceivedBytes | undefined {
    const key = importKey(type, filename);
    if (jobs.busy(importKey(type, ''))) return undefined;
    const received = new ReceivedBytes();
    receiving.set(key, received);
    jobs.start(key, `Начат импорт файла ${filename}`, (ctx) =>
      options.handlers.importFile({
        session,
        type,
        filename,
        path,
        signal: ctx.signal,
        report: ctx.report,
        received,
      }),
    );
    return received;
  }

  function forgetReceiving(type: ExchangeType): void {
    for (const [key, received] of receiving) {
      if (!key.startsWith(`${type}:`)) continue;
      received.finish();
      receiving.delete(key);
    }
  }

  /**
   * While an archive is unpacked, the first catalog file in it (`import…xml`, the goods, which 1C
   * imports before its offers) is imported as its bytes are written, as a file being received
   * is; 1C's `mode=import` for it then joins that import. Other files wait for their own call.
   */
  function importWhileUnpacking(
    type: ExchangeType,
    session: ExchangeSession,
    dir: string,
  ): NonNullable<UnzipWatch['written']> {
    let followed: { path: string; received: ReceivedBytes } | undefined;
    let decided = false;
    return ({ path, size, complete }) => {
      if (!decided && /\.xml$/i.test(path)) {
        decided = true;
        const received = /^import[^/]*\.xml$/i.test(basename(path))
          ? followFile(type, session, path, join(dir, path))
          : undefined;
        if (received) followed = { path, received };
      }
      if (path !== followed?.path) return;
      if (complete) followed.received.finish(size);
      else followed.received.grow(size);
    };
  }

  async function importStep(type: ExchangeType, session: ExchangeSession, filename: string, stepMs: number) {
    const dir = dirOf(type);
    const work = await readWorkDirState(dir);
    const packed = work.archives.filter((a) => !work.unpacked.includes(a));
    // An unpacking that ended since the last call is told first: its archives are all marked
    // unpacked by then, and 1C would otherwise never hear how it ended.
    if (packed.length > 0 || jobs.has(`${type}:unzip`)) {
      const following = options.importWhileReceiving && type === 'catalog';
      const state = await jobs.step(`${type}:unzip`, stepMs, 'Распаковка архива…', async (ctx) => {
        for (const archive of packed) {
          await unzipSafely(
            join(dir, archive),
            dir,
            { maxUnpackedBytes: options.maxUnpackedBytes, maxEntries: 200_000 },
            {
              progress: (bytes) => ctx.report(`Распаковка архива ${archive}: ${formatMb(bytes)} МБ`),
              ...(following ? { written: importWhileUnpacking(type, session, dir) } : {}),
            },
          ).catch(async (error: unknown) => {
            // An import begun on a file of this archive would read a cut file: it stops here.
            await jobs.cancel(importKey(type, ''));
            forgetReceiving(type);
            throw error;
          });
          work.unpacked.push(archive);
          await writeWorkDirState(dir, work);
        }
        return 'Архив распакован';
      });
      if (state.state === 'running') return progress(enc, state.progress);
      if (state.state === 'failed') return failure(enc, state.message);
      return progress(enc, state.message);
    }
    const checked = checkUploadPath(filename);
    if (!checked.ok) return failure(enc, `Импорт невозможен: ${checked.reason}`);
    const path = join(dir, checked.path);
    const exists = await stat(path).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) {
      return failure(
        enc,
        `Файл ${checked.path} не найден в папке обмена: передайте его (mode=file) перед импортом`,
      );
    }
    if (!/\.xml$/i.test(checked.path)) return success(enc, `Файл ${checked.path} принят`);
    const key = importKey(type, checked.path);
    // 1C asks for the import once the file is whole: an import begun while it arrived may end.
    receiving.get(key)?.finish();
    const state = await jobs.step(key, stepMs, `Начат импорт файла ${checked.path}`, (ctx) =>
      options.handlers.importFile({
        session,
        type,
        filename: checked.path,
        path,
        signal: ctx.signal,
        report: ctx.report,
      }),
    );
    if (state.state === 'running') return progress(enc, state.progress);
    receiving.delete(key);
    if (state.state === 'failed') return failure(enc, state.message);
    return success(enc, state.message);
  }

  async function dispatch(
    type: ExchangeType,
    mode: string,
    request: ExchangeRequest,
  ): Promise<ExchangeReply> {
    if (mode === 'checkauth') return checkauth(type, request);
    const session = await sessionOf(request);
    if (!('key' in session)) return session;
    switch (mode) {
      case 'init':
        return init(type, session, request);
      case 'file':
        return file(type, session, request);
      case 'import':
        return importStep(type, session, request.query['filename'] ?? '', options.importStepMs);
      case 'deactivate': {
        if (type !== 'catalog') break;
        const timestamp = Number(request.query['timestamp']);
        if (!request.query['timestamp'] || !Number.isFinite(timestamp)) {
          return failure(enc, 'Не передан параметр timestamp (его выдаёт checkauth)');
        }
        const message = options.handlers.deactivate
          ? await options.handlers.deactivate(session, timestamp)
          : 'Деактивация не требуется';
        return success(enc, message);
      }
      case 'complete': {
        if (type !== 'catalog') break;
        const message = options.handlers.complete
          ? await options.handlers.complete(session)
          : 'Обмен завершён';
        return success(enc, message);
      }
      case 'query': {
        if (type !== 'sale' || !options.handlers.query) break;
        return xmlReply(await options.handlers.query(session), enc);
      }
      case 'success': {
        if (type !== 'sale' || !options.handlers.confirm) break;
        await options.handlers.confirm(session);
        return success(enc);
      }
      case 'info': {
        if (type !== 'sale' || !options.handlers.info) break;
        return xmlReply(await options.handlers.info(session), enc);
      }
      default:
        break;
    }
    return failure(enc, `Неизвестная команда mode=${mode} для type=${type}`);
  }

  return {
    async handle(request) {
      const type = (request.query['type'] ?? '') as ExchangeType;
      const mode = request.query['mode'] ?? '';
      if (!TYPES.includes(type)) return failure(enc, MSG.unknownType);
      try {
        return await dispatch(type, mode, request);
      } catch (error) {
        if (error instanceof ExchangeFailure) return failure(enc, error.message);
        options.onError?.(error, { type, mode });
        return failure(enc, MSG.internal);
      }
    },
    close: () => jobs.cancelAll(),
  };
}

function importKey(type: ExchangeType, filename: string): string {
  return `${type}:import:${filename}`;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

function formatMb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
