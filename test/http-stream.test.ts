import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.ts';
import { ObmenError } from '../src/core/errors.ts';
import { createHttpClient } from '../src/http/client.ts';
import { openStore, type Store } from '../src/store/store.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server over real HTTP whose next answers the test queues, one handler per request. */
let handlers: Handler[] = [];
let server: Server;
let base = '';
let dir: string;
let store: Store;

before(async () => {
  server = createServer((req, res) => {
    const handler = handlers.shift();
    if (!handler) {
      res.writeHead(599).end('unexpected request');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'obmen-stream-'));
  store = await openStore({ url: join(dir, 'obmen.db') });
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  handlers = [];
  await store.db.deleteFrom('request_log').execute();
});

const client = () =>
  createHttpClient({
    system: 'onec',
    store,
    clock: new ManualClock(),
    random: () => 0,
    maxLoggedBody: 100,
    timeoutMs: 10_000,
  });
const logRows = () => store.db.selectFrom('request_log').selectAll().orderBy('id').execute();
const XML_LINE = '<EntityType Name="Catalog_X"><Property Name="Ref_Key" Type="Edm.Guid"/></EntityType>\n';

describe('HttpClient.stream', () => {
  it('hands the body over while the server is still sending it: the client holds no whole copy', async () => {
    // The server sends 256 KB and then waits until the caller has read them: a client that
    // buffered the whole answer first would wait for the rest forever (here: until its timeout).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = Buffer.from(XML_LINE.repeat(Math.ceil((256 * 1024) / XML_LINE.length)));
    const rest = Buffer.from(XML_LINE.repeat(50_000));
    handlers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml;charset=utf-8' });
      res.write(first);
      void gate.then(() => res.end(rest));
    });
    const response = await client().stream({ method: 'GET', url: `${base}/$metadata` });
    assert.equal(response.status, 200);
    let received = 0;
    let largestPiece = 0;
    for await (const piece of response.body) {
      received += piece.byteLength;
      largestPiece = Math.max(largestPiece, piece.byteLength);
      if (received >= first.byteLength) release();
    }
    assert.equal(received, first.byteLength + rest.byteLength);
    assert.ok(largestPiece <= 1024 * 1024, `pieces stay small (largest ${largestPiece} bytes)`);

    const [row] = await logRows();
    assert.ok(row);
    assert.equal(row.status, 200);
    assert.equal(row.error, null);
    assert.ok(row.duration_ms >= 0);
    assert.ok(row.response_body!.startsWith('<EntityType Name="Catalog_X">'));
    assert.ok(
      row.response_body!.endsWith(`…[truncated; streamed, ${received} bytes in all]`),
      row.response_body!,
    );
    assert.ok(row.response_body!.length < 200, 'the log keeps a head, not the body');
  });

  it('retries a 503 before anything is handed over, then streams the 200', async () => {
    handlers.push(
      (_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('busy'),
      (_req, res) => res.writeHead(200, { 'content-type': 'application/xml' }).end('<ok/>'),
    );
    const response = await client().stream({ method: 'GET', url: `${base}/m` });
    const pieces: Buffer[] = [];
    for await (const piece of response.body) pieces.push(Buffer.from(piece));
    assert.equal(Buffer.concat(pieces).toString(), '<ok/>');
    const rows = await logRows();
    assert.deepEqual(
      rows.map((r) => [r.status, r.response_body]),
      [
        [503, 'busy'],
        [200, '<ok/>'],
      ],
    );
  });

  it("classify sees the first bytes of a 2xx: 1C's HTML page with status 200 is an error", async () => {
    handlers.push((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<html><body>${'Ошибка '.repeat(500)}</body></html>`),
    );
    await assert.rejects(
      client().stream({
        method: 'GET',
        url: `${base}/m`,
        idempotent: false,
        classify: (res) =>
          res.text().startsWith('<html')
            ? new ObmenError('transient', 'onec: an HTML page instead of XML', { system: 'onec' })
            : undefined,
      }),
      /an HTML page instead of XML/,
    );
    const [row] = await logRows();
    assert.equal(row?.error, 'onec: an HTML page instead of XML');
    assert.match(row?.response_body ?? '', /^<html><body>Ошибка /);
  });

  it('a connection cut in the middle of the body is a transient error of the iteration, and is logged', async () => {
    handlers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': '1000000' });
      res.write(XML_LINE.repeat(100));
      setImmediate(() => res.socket?.destroy());
    });
    const response = await client().stream({ method: 'GET', url: `${base}/m` });
    await assert.rejects(
      (async () => {
        for await (const _ of response.body) {
          // reading until the cut
        }
      })(),
      (error: ObmenError) => error instanceof ObmenError && error.errorClass === 'transient',
    );
    const [row] = await logRows();
    assert.equal(row?.status, 200);
    assert.match(row?.error ?? '', /^onec: GET \/m failed/);
  });

  it('leaving the loop early cancels the rest and still writes the log row', async () => {
    handlers.push((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const line = XML_LINE.repeat(1000);
      let sent = 0;
      const pump = () => {
        while (sent < 400) {
          sent++;
          if (!res.write(line)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      res.on('close', () => {
        sent = 400;
      });
    });
    const response = await client().stream({ method: 'GET', url: `${base}/m` });
    let read = 0;
    for await (const piece of response.body) {
      read += piece.byteLength;
      if (read > 100_000) break;
    }
    const [row] = await logRows();
    assert.equal(row?.status, 200);
    assert.equal(row?.error, null);
    const total = Number(/streamed, (\d+) bytes in all/.exec(row?.response_body ?? '')?.[1]);
    assert.ok(total >= read && total < 400 * 1000 * XML_LINE.length, `logged ${total} bytes`);
  });
});
