import iconv from 'iconv-lite';

/**
 * How the parser reads an exchange file, by the encoding the file itself declares. UTF-8 goes to
 * the scanner as bytes (XmlScanner.writeUtf8 reads them as latin1 and decodes the values it
 * reports); windows-1251 is decoded into text first.
 */
export type ChunkDecoder =
  | { readonly encoding: 'utf-8' }
  | { readonly encoding: 'windows-1251'; write(chunk: Buffer): string; end(): string };

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Decides from the first bytes: a UTF-8 BOM means UTF-8; otherwise the XML declaration's
 * `encoding` (windows-1251 / cp1251 as 1C and Bitrix write it); no declaration means UTF-8, as
 * XML says. The UTF-8 decoder is strict so that a windows-1251 file declared as UTF-8 fails
 * loudly instead of loading mojibake into the catalog.
 */
export function createDecoder(head: Buffer): { decoder: ChunkDecoder; skip: number } {
  if (head.subarray(0, 3).equals(UTF8_BOM)) return { decoder: UTF8, skip: 3 };
  const declaration = head.subarray(0, 200).toString('latin1');
  const match = declaration.match(/^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']/i);
  const declared = match?.[1]?.toLowerCase();
  if (declared !== undefined && /^(windows-1251|cp-?1251|win-?1251)$/.test(declared)) {
    const decoder = iconv.getDecoder('win1251');
    return {
      decoder: {
        encoding: 'windows-1251',
        write: (chunk) => decoder.write(chunk),
        end: () => decoder.end() ?? '',
      },
      skip: 0,
    };
  }
  return { decoder: UTF8, skip: 0 };
}

/**
 * UTF-8 files are scanned as latin1 text (one char per byte, the fastest decode there is, and
 * half the memory of decoded Cyrillic): every XML delimiter is ASCII and no byte of a multi-byte
 * UTF-8 sequence is, so the structure reads the same. The scanner then decodes only the values
 * the parser keeps, straight from the bytes; whitespace and tags — most of a file — never are.
 */
const UTF8: ChunkDecoder = { encoding: 'utf-8' };
