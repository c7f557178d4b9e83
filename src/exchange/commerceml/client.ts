import { open } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpClient } from '../../http/types.ts';
import { basicAuthHeader } from './basic-auth.ts';
import { decodeReply } from './reply.ts';
import type { ExchangeType } from './session-store.ts';

/**
 * The client side of the "Обмен с сайтом" protocol, making the calls 1C makes, in its order:
 * checkauth → init → file (chunks of file_limit) → import until success; sale: query →
 * success, file + import. The 1C exchange emulator drives obmen with it; the bitrix-site
 * connector will feed 1C-Bitrix sites with it through obmen's shared HTTP client.
 */

export interface ExchangeHttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal;
}

export interface ExchangeHttpResponse {
  status: number;
  contentType: string | null;
  body: Uint8Array;
}

/** How requests leave: node:http for the emulator, obmen's HttpClient inside obmen. */
export type ExchangeTransport = (request: ExchangeHttpRequest) => Promise<ExchangeHttpResponse>;

/**
 * The emulator's transport: node:http, which writes a chunk's bytes to the socket as they are.
 * (fetch copied every request body twice; for 1C's 100 MB chunks that was ~10 ms of CPU per MB
 * on the machine that also runs obmen in the benchmark.) A kept-alive socket the server closed
 * meanwhile (it restarted) fails the request sent on it; a GET of this protocol is safe to ask
 * again (each pooled socket may fail once). Uploads are never repeated here: an append sent
 * twice would corrupt the file.
 */
export const directTransport: ExchangeTransport = async (request) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce(request);
    } catch (error) {
      if (request.method !== 'GET' || request.signal?.aborted || attempt >= 4) throw error;
    }
  }
};

function sendOnce(request: ExchangeHttpRequest): Promise<ExchangeHttpResponse> {
  const url = new URL(request.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string | number> = { ...request.headers };
  if (request.body) headers['content-length'] = request.body.byteLength;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      url,
      { method: request.method, headers, ...(request.signal ? { signal: request.signal } : {}) },
      (response) => {
        const pieces: Buffer[] = [];
        response.on('data', (piece: Buffer) => pieces.push(piece));
        response.on('error', reject);
        response.on('end', () => {
          const type = response.headers['content-type'];
          resolve({
            status: response.statusCode ?? 0,
            contentType: type ?? null,
            body: Buffer.concat(pieces),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** Sends through obmen's shared client (timeouts, rate limits, request log). Uploads are not retried. */
export function httpClientTransport(http: HttpClient): ExchangeTransport {
  return async (request) => {
    const response = await http.request({
      method: request.method,
      url: request.url,
      headers: request.headers,
      ...(request.body ? { body: request.body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      endpoint: `1c_exchange ${new URL(request.url).searchParams.get('mode') ?? ''}`,
      idempotent: request.method === 'GET',
      // The protocol reports errors in the body (failure\n…), not by status.
      classify: () => undefined,
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: response.body,
    };
  };
}

/** A `failure` (or unexpected) answer of the server; `reply` is the decoded body. */
export class ExchangeClientError extends Error {
  constructor(
    readonly mode: string,
    readonly reply: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExchangeClientError';
  }
}

export interface ExchangeClientOptions {
  /** The endpoint, e.g. http://shop.example/bitrix/admin/1c_exchange.php */
  url: string;
  login: string;
  password: string;
  transport?: ExchangeTransport;
  userAgent?: string;
  signal?: AbortSignal;
}

export interface InitAnswer {
  zip: boolean;
  fileLimit: number;
  version: string | undefined;
}

export type ImportAnswer = { state: 'progress' | 'success'; message: string };

export class ExchangeClient {
  private cookie: string | undefined;
  private sessid: string | undefined;
  /** `timestamp=` of the last catalog checkauth, for `mode=deactivate`. */
  timestamp: number | undefined;
  /** How many requests this client made (reports and tests). */
  requests = 0;
  private readonly transport: ExchangeTransport;

  constructor(private readonly options: ExchangeClientOptions) {
    this.transport = options.transport ?? directTransport;
  }

  async checkauth(type: ExchangeType): Promise<void> {
    const lines = await this.call(type, 'checkauth', {}, 'GET');
    if (lines[0] !== 'success' || lines.length < 3) throw this.failed('checkauth', lines);
    this.cookie = `${lines[1]}=${lines[2]}`;
    this.sessid = lines.find((l) => l.startsWith('sessid='))?.slice('sessid='.length);
    const ts = lines.find((l) => l.startsWith('timestamp='));
    this.timestamp = ts ? Number(ts.slice('timestamp='.length)) : undefined;
  }

  async init(type: ExchangeType, version?: string): Promise<InitAnswer> {
    const lines = await this.call(type, 'init', version ? { version } : {}, 'GET');
    const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const limit = Number(value('file_limit'));
    if (!value('zip') || !Number.isFinite(limit) || limit <= 0) throw this.failed('init', lines);
    return { zip: value('zip') === 'yes', fileLimit: limit, version: value('version') };
  }

  /** Sends one chunk (`mode=file` appends it on the server). */
  async sendChunk(type: ExchangeType, filename: string, bytes: Uint8Array): Promise<void> {
    const lines = await this.call(type, 'file', { filename }, 'POST', bytes);
    if (lines[0] !== 'success') throw this.failed('file', lines);
  }

  /** Uploads a file from disk in chunks of at most `fileLimit` bytes, as 1C does. */
  async uploadFile(type: ExchangeType, filename: string, path: string, fileLimit: number): Promise<number> {
    const handle = await open(path, 'r');
    let sent = 0;
    try {
      // 1C reads file_limit bytes per request; the cap only guards against an absurd limit.
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(fileLimit, 1024 * 1024 * 1024)));
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, sent);
        if (bytesRead === 0 && sent > 0) break;
        await this.sendChunk(type, filename, buffer.subarray(0, bytesRead));
        sent += bytesRead;
        if (bytesRead < buffer.length) break;
      }
    } finally {
      await handle.close();
    }
    return sent;
  }

  async importStep(type: ExchangeType, filename: string): Promise<ImportAnswer> {
    const lines = await this.call(type, 'import', { filename }, 'GET');
    if (lines[0] === 'progress' || lines[0] === 'success') {
      return { state: lines[0], message: lines.slice(1).join('\n') };
    }
    throw this.failed('import', lines);
  }

  /** Repeats `mode=import` until `success`; each `progress` text goes to `onProgress`. */
  async importUntilDone(
    type: ExchangeType,
    filename: string,
    onProgress?: (message: string) => void,
    maxCalls = 100_000,
  ): Promise<{ calls: number; message: string }> {
    for (let calls = 1; calls <= maxCalls; calls++) {
      const answer = await this.importStep(type, filename);
      if (answer.state === 'success') return { calls, message: answer.message };
      onProgress?.(answer.message);
    }
    throw new ExchangeClientError('import', '', `import of ${filename} did not finish in ${maxCalls} calls`);
  }

  /** `type=sale&mode=query`: the orders XML as bytes (its encoding is in its declaration). */
  async query(): Promise<Buffer> {
    const response = await this.send('sale', 'query', {}, 'GET');
    const head = decodeReply(response.body.subarray(0, 200), response.contentType);
    if (head.startsWith('failure')) throw this.failed('query', head.split('\n'));
    return Buffer.from(response.body);
  }

  async success(): Promise<void> {
    const lines = await this.call('sale', 'success', {}, 'GET');
    if (lines[0] !== 'success') throw this.failed('success', lines);
  }

  async info(): Promise<Buffer> {
    const response = await this.send('sale', 'info', {}, 'GET');
    return Buffer.from(response.body);
  }

  async deactivate(): Promise<string> {
    const lines = await this.call(
      'catalog',
      'deactivate',
      { timestamp: String(this.timestamp ?? '') },
      'GET',
    );
    if (lines[0] !== 'success') throw this.failed('deactivate', lines);
    return lines.slice(1).join('\n');
  }

  async complete(): Promise<string> {
    const lines = await this.call('catalog', 'complete', {}, 'GET');
    if (lines[0] !== 'success') throw this.failed('complete', lines);
    return lines.slice(1).join('\n');
  }

  private async call(
    type: ExchangeType,
    mode: string,
    params: Record<string, string>,
    method: 'GET' | 'POST',
    body?: Uint8Array,
  ): Promise<string[]> {
    const response = await this.send(type, mode, params, method, body);
    const text = decodeReply(response.body, response.contentType);
    return text
      .replace(/^\uFEFF/, '')
      .replace(/\r/g, '')
      .replace(/\n+$/, '')
      .split('\n');
  }

  private async send(
    type: ExchangeType,
    mode: string,
    params: Record<string, string>,
    method: 'GET' | 'POST',
    body?: Uint8Array,
  ): Promise<ExchangeHttpResponse> {
    const url = new URL(this.options.url);
    url.searchParams.set('type', type);
    url.searchParams.set('mode', mode);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    if (this.sessid && mode !== 'checkauth') url.searchParams.set('sessid', this.sessid);
    const headers: Record<string, string> = {
      // 1C keeps sending Basic credentials next to the session cookie (seen in real captures).
      authorization: basicAuthHeader(this.options.login, this.options.password),
      'user-agent': this.options.userAgent ?? '1C+Enterprise/8.3',
      accept: 'text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2',
    };
    if (this.cookie && mode !== 'checkauth') headers['cookie'] = this.cookie;
    if (body) headers['content-type'] = 'application/octet-stream';
    this.requests++;
    const response = await this.transport({
      method,
      url: url.toString(),
      headers,
      ...(body ? { body } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    if (response.status >= 400) {
      throw new ExchangeClientError(
        mode,
        decodeReply(response.body, response.contentType),
        `${mode}: HTTP ${response.status} from ${url.origin}${url.pathname}`,
      );
    }
    return response;
  }

  private failed(mode: string, lines: string[]): ExchangeClientError {
    const reply = lines.join('\n');
    const reason =
      lines[0] === 'failure' ? lines.slice(1).join(' ') : `unexpected answer: ${reply.slice(0, 200)}`;
    return new ExchangeClientError(mode, reply, `${mode}: ${reason}`);
  }
}
