import iconv from 'iconv-lite';

/** Encodings the exchange speaks: Bitrix always answers in windows-1251; newer modules accept UTF-8. */
export type ExchangeEncoding = 'windows-1251' | 'utf-8';

/** One HTTP answer of the exchange endpoint, already encoded. */
export interface ExchangeReply {
  status: number;
  contentType: string;
  body: Buffer;
  headers?: Record<string, string>;
}

/**
 * A text reply (`success\n…`, `progress\n…`, `failure\n…`) as Bitrix sends it: converted to the
 * configured charset and labelled `text/html` like the PHP component does, because 1C decodes
 * the reply by the charset in Content-Type.
 */
export function textReply(lines: readonly string[], encoding: ExchangeEncoding): ExchangeReply {
  return {
    status: 200,
    contentType: `text/html; charset=${encoding}`,
    body: iconv.encode(`${lines.join('\n')}\n`, encoding),
  };
}

/** An XML document reply (orders for `mode=query`, `mode=info`); the bytes already carry the encoding. */
export function xmlReply(xml: Buffer, encoding: ExchangeEncoding): ExchangeReply {
  return { status: 200, contentType: `application/xml; charset=${encoding}`, body: xml };
}

export const success = (encoding: ExchangeEncoding, ...lines: string[]) =>
  textReply(['success', ...lines], encoding);
export const progress = (encoding: ExchangeEncoding, message: string) =>
  textReply(['progress', message], encoding);
/** Bitrix strips `<br>` from its messages; ours are single-line Russian text for the 1C administrator. */
export const failure = (encoding: ExchangeEncoding, message: string) =>
  textReply(['failure', message.replace(/\r?\n/g, ' ')], encoding);

/** Decodes a reply body by the charset in its Content-Type (1C's default is windows-1251). */
export function decodeReply(body: Uint8Array, contentType: string | null | undefined): string {
  const charset = /charset=([\w-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  const encoding = charset === 'utf-8' || charset === 'utf8' ? 'utf-8' : 'windows-1251';
  return iconv.decode(Buffer.from(body), encoding);
}
