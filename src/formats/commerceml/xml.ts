import iconv from 'iconv-lite';

/** A tiny XML tree for the writers: element name, attributes, children or text. */
export interface El {
  n: string;
  a?: Record<string, string | undefined>;
  c?: Array<El | undefined | false>;
  t?: string;
}

/** An element with text; undefined (so it is left out) when the value is undefined. */
export function leaf(
  n: string,
  value: string | number | boolean | undefined | null,
  a?: El['a'],
): El | undefined {
  if (value === undefined || value === null) return undefined;
  return a === undefined ? { n, t: String(value) } : { n, t: String(value), a };
}

/** An element with children; left out when it would be empty (1C omits empty lists). */
export function list(n: string, c: Array<El | undefined | false>, a?: El['a']): El | undefined {
  const kept = c.filter((e): e is El => e !== undefined && e !== false);
  if (kept.length === 0) return undefined;
  return a === undefined ? { n, c: kept } : { n, c: kept, a };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 forbids these control characters.
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

function escapeText(value: string): string {
  return value.replace(FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}

function serialize(el: El, indent: string, out: string[]): void {
  let open = `${indent}<${el.n}`;
  if (el.a)
    for (const [k, v] of Object.entries(el.a)) if (v !== undefined) open += ` ${k}="${escapeAttr(v)}"`;
  const kids = el.c?.filter((e): e is El => e !== undefined && e !== false);
  if (kids !== undefined && kids.length > 0) {
    out.push(`${open}>`);
    for (const kid of kids) serialize(kid, `${indent}\t`, out);
    out.push(`${indent}</${el.n}>`);
  } else if (el.t !== undefined && el.t !== '') {
    out.push(`${open}>${escapeText(el.t)}</${el.n}>`);
  } else {
    out.push(`${open}/>`);
  }
}

// Characters windows-1251 has: everything else becomes a character reference, which any XML
// reader (1C's included) turns back into the character, instead of iconv's silent "?".
let cp1251: Set<number> | undefined;
function representableIn1251(): Set<number> {
  if (cp1251 === undefined) {
    const all = iconv.decode(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'win1251');
    cp1251 = new Set([...all].map((ch) => ch.codePointAt(0)!));
  }
  return cp1251;
}

/** The whole document as bytes, with a declaration naming the encoding (UTF-8 gets a BOM, as 1C writes it). */
export function renderXml(root: El, encoding: 'windows-1251' | 'utf-8'): Buffer {
  const lines: string[] = [
    `<?xml version="1.0" encoding="${encoding === 'utf-8' ? 'UTF-8' : 'windows-1251'}"?>`,
  ];
  serialize(root, '', lines);
  const text = `${lines.join('\n')}\n`;
  if (encoding === 'utf-8')
    return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
  const known = representableIn1251();
  let safe = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    safe += known.has(code) ? ch : `&#${code};`;
  }
  return iconv.encode(safe, 'win1251');
}

/** ДатаФормирования as 1C writes it: local time without zone, seconds precision. */
export function formatTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A boolean the way CommerceML writes it. */
export function bool(value: boolean | undefined): string {
  return value === true ? 'true' : 'false';
}

/** A number without exponent or trailing noise (1C reads "1234.5", not "1.2345e3"). */
export function num(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(6)));
}
