/**
 * A streaming XML tokenizer made for exchange files: elements, attributes, text, CDATA;
 * declarations, comments, DOCTYPE and whitespace-only text are skipped. It checks what matters
 * for a cut-off or corrupted upload — every tag closed in order, one root, quoted attributes,
 * known entities — and reports faults in Russian with the line and column.
 *
 * Why not saxes: saxes validates every character against the XML name tables and topped out
 * near 45 MB/s on Cyrillic CommerceML, below what a 1 GB catalog needs. This one jumps between
 * `<` with indexOf, recognises repeated element names in place, and reads UTF-8 as latin1
 * bytes, decoding only the values it reports (see decode.ts). Columns count bytes in that
 * mode, characters otherwise.
 */

export interface ScanHandler {
  open(name: string, attrs: Record<string, string> | undefined, selfClosing: boolean): void;
  text(value: string): void;
  close(name: string): void;
}

/** A well-formedness fault; `line`/`column` are 1-based. */
export class XmlFault extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

const REPLACEMENT = Buffer.from('\ufffd', 'utf8');
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

// Characters that end a name: space, tab, CR, LF, '/', '>', '='.
function endsName(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 47 || code === 62 || code === 61;
}

export class XmlScanner {
  private buf = '';
  private pos = 0;
  /** Line of the start of `buf` (1-based) and how far into `buf` newlines were counted. */
  private lineBase = 1;
  private countedTo = 0;
  /** Open elements as written in `buf` (compared with closing tags) and as reported. */
  private readonly stack: string[] = [];
  private readonly names: string[] = [];
  private readonly nameCache = new Map<string, string>();
  private readonly writtenNames: Array<string | undefined> = new Array(256);
  /** The decoded name of each writtenNames slot (what nameOf gives for it). */
  private readonly decodedNames: Array<string | undefined> = new Array(256);
  private rootSeen = false;
  private tagStart = 0;
  /**
   * The bytes behind `buf` when the input is UTF-8 read as latin1 (see decode.ts): string index
   * = byte offset, so a value is decoded straight from its bytes. Undefined for decoded text.
   */
  private bytes: Buffer | undefined;
  /** Where `bytes` live (from its start): the rest not yet scanned, then the next piece. */
  private work = Buffer.alloc(0);

  constructor(private readonly handler: ScanHandler) {}

  /** Element names currently open, outermost first. */
  get openElements(): readonly string[] {
    return this.names;
  }

  /** The real text of buf[from, to). */
  private cut(from: number, to: number): string {
    if (this.bytes === undefined) return this.buf.slice(from, to);
    const text = this.bytes.toString('utf8', from, to);
    // A U+FFFD the file does not itself contain (as bytes EF BF BD) means bytes that are not UTF-8.
    if (text.indexOf('\ufffd') !== -1 && this.bytes.subarray(from, to).indexOf(REPLACEMENT) === -1) {
      throw this.fault('байты не соответствуют кодировке UTF-8, указанной в заголовке XML', from);
    }
    return text;
  }

  /**
   * The real text of a value (element text, CDATA, an attribute). Most values of an exchange
   * file are ASCII — Ид, codes, numbers, dates — and in latin1-read UTF-8 an ASCII run is already
   * its own text, so it needs no UTF-8 decode (8 % of the parser thread in a profile).
   * V8 copies a substring shorter than 13 characters; a longer one would be a view that keeps
   * the whole chunk alive while the value lives, so it is copied out of the bytes instead.
   */
  private value(from: number, to: number): string {
    const bytes = this.bytes;
    if (bytes === undefined) return this.buf.slice(from, to);
    const buf = this.buf;
    for (let i = from; i < to; i++) if (buf.charCodeAt(i) > 0x7f) return this.cut(from, to);
    return to - from < 13 ? buf.slice(from, to) : bytes.toString('latin1', from, to);
  }

  /** Element and attribute names repeat all file long: each is decoded once. */
  private nameOf(written: string, from: number): string {
    if (this.bytes === undefined) return written;
    let name = this.nameCache.get(written);
    if (name === undefined) {
      name = this.cut(from, from + written.length);
      if (this.nameCache.size < 10_000) this.nameCache.set(written, name);
    }
    return name;
  }

  /** 1-based line of the tag being reported (or of the fault). */
  get line(): number {
    return this.lineOf(this.tagStart);
  }

  private lineOf(index: number): number {
    let at = this.buf.indexOf('\n', this.countedTo);
    while (at !== -1 && at < index) {
      this.lineBase += 1;
      at = this.buf.indexOf('\n', at + 1);
    }
    this.countedTo = Math.max(this.countedTo, index);
    return this.lineBase;
  }

  private fault(message: string, index: number): XmlFault {
    const line = this.lineOf(index);
    const column = index - this.buf.lastIndexOf('\n', index - 1);
    return new XmlFault(message, line, column);
  }

  /** Adds decoded text. */
  write(chunk: string): void {
    // Count the newlines of the part being dropped, so lines stay right after re-basing.
    this.lineOf(this.pos);
    this.buf = this.pos < this.buf.length ? this.buf.slice(this.pos) + chunk : chunk;
    this.rebase();
  }

  /**
   * Adds UTF-8 bytes, scanned as latin1 text (see decode.ts). The text is read from the bytes
   * not yet scanned and the new ones in one piece: a chunk's own latin1 string joined to the
   * rest was copied again when flattened, a second string for every 64 KB of the file.
   */
  writeUtf8(bytes: Uint8Array): void {
    this.lineOf(this.pos);
    const rest = this.bytes === undefined ? 0 : this.bytes.length - this.pos;
    const length = rest + bytes.length;
    // The bytes are copied into the scanner's own buffer, reused all file long: the caller may
    // reuse its piece, and a new buffer per piece was garbage outside the JavaScript heap, which
    // the collector frees only when the heap itself needs collecting (tens of MB of RSS).
    if (length > this.work.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(length, 2 * this.work.length, 128 * 1024));
      if (rest > 0) this.bytes!.copy(bigger, 0, this.pos);
      this.work = bigger;
    } else if (rest > 0) {
      // `bytes` is the start of `work`: the rest moves to the front.
      this.work.copyWithin(0, this.pos, this.pos + rest);
    }
    this.work.set(bytes, rest);
    this.bytes = this.work.subarray(0, length);
    this.buf = this.bytes.toString('latin1');
    this.rebase();
  }

  /** `buf` now starts at what was `pos`. */
  private rebase(): void {
    this.countedTo = Math.max(0, this.countedTo - this.pos);
    this.pos = 0;
    this.scan(false);
  }

  /** End of input: anything left open is a truncated file. */
  end(): void {
    this.scan(true);
    const rest = this.buf.slice(this.pos);
    if (rest.includes('<')) {
      throw this.fault(`файл обрывается внутри тега${this.openHint()}`, this.buf.length);
    }
    if (this.names.length > 0) {
      throw this.fault(
        `файл обрывается: не закрыт элемент <${this.names[this.names.length - 1]}>`,
        this.buf.length,
      );
    }
    if (!this.rootSeen) throw this.fault('файл пуст или не содержит корневого элемента', this.buf.length);
  }

  private openHint(): string {
    const open = this.names[this.names.length - 1];
    return open === undefined ? '' : ` (внутри элемента <${open}>)`;
  }

  private scan(final: boolean): void {
    const buf = this.buf;
    const length = buf.length;
    while (this.pos < length) {
      const lt = buf.indexOf('<', this.pos);
      if (lt === -1) {
        // Text may continue in the next chunk; at the end it is checked as outside the root.
        if (final) this.textRun(this.pos, length);
        else return;
        this.pos = length;
        return;
      }
      if (lt > this.pos) this.textRun(this.pos, lt);
      this.tagStart = lt;
      const next = buf.charCodeAt(lt + 1);
      if (Number.isNaN(next)) {
        this.pos = lt; // '<' is the last character so far
        return;
      }
      let end: number;
      if (next === 47 /* / */) end = this.closeTag(lt);
      else if (next === 63 /* ? */) end = this.skipTo(lt, '?>');
      else if (next === 33 /* ! */) end = this.bang(lt);
      else end = this.openTag(lt);
      if (end < 0) {
        this.pos = lt; // incomplete: wait for more input
        return;
      }
      this.pos = end;
    }
  }

  private textRun(from: number, to: number): void {
    // Whitespace-only runs (the indentation between tags, most text events of a file) are not
    // reported: every CommerceML value is read trimmed, and this halves the work.
    const buf = this.buf;
    let i = from;
    while (i < to && isSpace(buf.charCodeAt(i))) i++;
    if (i === to) return;
    const text = this.value(from, to);
    if (this.stack.length === 0) {
      const where = this.rootSeen ? 'после корневого элемента' : 'до корневого элемента';
      throw this.fault(`текст ${where}: «${text.trim().slice(0, 30)}»`, from);
    }
    this.handler.text(text.indexOf('&') === -1 ? text : this.decodeEntities(text, from));
  }

  private decodeEntities(raw: string, offset: number): string {
    return raw.replace(/&([^;&\s]{0,12});?/g, (match, body: string, index: number) => {
      if (!match.endsWith(';'))
        throw this.fault(`символ «&» без ссылки на сущность (нужно &amp;)`, offset + index);
      if (body.startsWith('#')) {
        const code =
          body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
        if (!Number.isInteger(code) || code < 0 || code > 0x10ffff)
          throw this.fault(`некорректная ссылка на символ ${match}`, offset + index);
        return String.fromCodePoint(code);
      }
      const known = ENTITIES[body];
      if (known === undefined) throw this.fault(`неизвестная ссылка на сущность ${match}`, offset + index);
      return known;
    });
  }

  private skipTo(lt: number, terminator: string): number {
    const at = this.buf.indexOf(terminator, lt + 2);
    return at === -1 ? -1 : at + terminator.length;
  }

  private bang(lt: number): number {
    const buf = this.buf;
    if (buf.startsWith('<!--', lt)) return this.skipTo(lt, '-->');
    if (buf.startsWith('<![CDATA[', lt)) {
      const at = buf.indexOf(']]>', lt + 9);
      if (at === -1) return -1;
      if (this.stack.length === 0) throw this.fault('CDATA вне корневого элемента', lt);
      this.handler.text(this.value(lt + 9, at));
      return at + 3;
    }
    if (buf.length - lt < 9) return -1;
    if (buf.startsWith('<!DOCTYPE', lt)) {
      const bracket = buf.indexOf('[', lt);
      const close = buf.indexOf('>', lt);
      if (close === -1) return -1;
      if (bracket !== -1 && bracket < close) return this.skipTo(lt, ']>');
      return close + 1;
    }
    throw this.fault('некорректная конструкция «<!»', lt);
  }

  private closeTag(lt: number): number {
    const buf = this.buf;
    const gt = buf.indexOf('>', lt + 2);
    if (gt === -1) return -1;
    const open = this.stack[this.stack.length - 1];
    // The usual case compares in place: no string is cut out for every closing tag.
    const exact = open !== undefined && gt === lt + 2 + open.length && buf.startsWith(open, lt + 2);
    if (!exact) {
      const written = buf.slice(lt + 2, gt).trim();
      const name = this.nameOf(written, lt + 1);
      if (open === undefined) throw this.fault(`закрывающий тег </${name}> без открывающего`, lt);
      if (open !== written) {
        const expected = this.names[this.names.length - 1];
        throw this.fault(`закрывающий тег </${name}> не соответствует открытому элементу <${expected}>`, lt);
      }
    }
    this.stack.pop();
    this.handler.close(this.names.pop()!);
    return gt + 1;
  }

  private openTag(lt: number): number {
    const buf = this.buf;
    const length = buf.length;
    // Fast path, most tags: `<Name>` or `<Name/>` with a name seen before. The whole span up to
    // '>' is compared with the cached name in place, so nothing is scanned char by char.
    const gt = buf.indexOf('>', lt + 1);
    if (gt === -1) return -1;
    const end = buf.charCodeAt(gt - 1) === 47 /* / */ ? gt - 1 : gt;
    if (end - lt > 2) {
      const slot = this.nameSlot(lt + 1, end);
      const known = this.writtenNames[slot];
      if (known !== undefined && known.length === end - lt - 1 && buf.startsWith(known, lt + 1)) {
        this.opened(known, this.decodedNames[slot]!, undefined, end !== gt, lt);
        return gt + 1;
      }
    }
    let i = lt + 1;
    while (i < length && !endsName(buf.charCodeAt(i))) i++;
    if (i >= length) return -1;
    const written = this.writtenName(lt + 1, i);
    if (written === '' || written.includes('<')) throw this.fault('некорректное имя элемента после «<»', lt);
    const name = this.nameOf(written, lt + 1);
    let attrs: Record<string, string> | undefined;
    for (;;) {
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return -1;
      const code = buf.charCodeAt(i);
      if (code === 62 /* > */) {
        this.opened(written, name, attrs, false, lt);
        return i + 1;
      }
      if (code === 47 /* / */) {
        if (i + 1 >= length) return -1;
        if (buf.charCodeAt(i + 1) !== 62) throw this.fault(`ожидалось «/>» в теге <${name}>`, i);
        this.opened(written, name, attrs, true, lt);
        return i + 2;
      }
      const nameStart = i;
      while (i < length && !endsName(buf.charCodeAt(i))) i++;
      if (i >= length) return -1;
      const attrName = this.nameOf(buf.slice(nameStart, i), nameStart);
      if (attrName === '' || attrName.includes('<'))
        throw this.fault(`некорректный атрибут в теге <${name}>`, nameStart);
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return -1;
      if (buf.charCodeAt(i) !== 61 /* = */)
        throw this.fault(`у атрибута ${attrName} в теге <${name}> нет значения`, i);
      i++;
      while (i < length && isSpace(buf.charCodeAt(i))) i++;
      if (i >= length) return -1;
      const quote = buf.charCodeAt(i);
      if (quote !== 34 && quote !== 39)
        throw this.fault(`значение атрибута ${attrName} в теге <${name}> не в кавычках`, i);
      const close = buf.indexOf(quote === 34 ? '"' : "'", i + 1);
      if (close === -1) return -1;
      if (buf.slice(i + 1, close).includes('<'))
        throw this.fault(`символ «<» в значении атрибута ${attrName} тега <${name}>`, i);
      const value = this.value(i + 1, close);
      attrs ??= {};
      attrs[attrName] = value.indexOf('&') === -1 ? value : this.decodeEntities(value, i + 1);
      i = close + 1;
      const after = buf.charCodeAt(i);
      if (i < length && !isSpace(after) && after !== 62 && after !== 47)
        throw this.fault(`нет пробела после атрибута ${attrName} в теге <${name}>`, i);
    }
  }

  /**
   * buf[from, to) as a string, without cutting a new one when the same name was seen before:
   * a file has a few dozen element names and a million tags. Direct-mapped by length and the
   * last two characters, verified in place.
   */
  private writtenName(from: number, to: number): string {
    const buf = this.buf;
    const length = to - from;
    const slot = this.nameSlot(from, to);
    const known = this.writtenNames[slot];
    if (known !== undefined && known.length === length && buf.startsWith(known, from)) return known;
    // A flat copy (the concatenation is flattened by the slice), so the cache never pins a
    // whole chunk of the file.
    const name = (' ' + buf.slice(from, to)).slice(1);
    this.writtenNames[slot] = name;
    this.decodedNames[slot] = this.nameOf(name, from);
    return name;
  }

  private nameSlot(from: number, to: number): number {
    const buf = this.buf;
    return ((to - from) * 31 + buf.charCodeAt(to - 1) * 7 + buf.charCodeAt(to - 2)) & 255;
  }

  private opened(
    written: string,
    name: string,
    attrs: Record<string, string> | undefined,
    selfClosing: boolean,
    lt: number,
  ): void {
    if (this.stack.length === 0) {
      if (this.rootSeen) throw this.fault(`второй корневой элемент <${name}> после закрытого корневого`, lt);
      this.rootSeen = true;
    }
    this.stack.push(written);
    this.names.push(name);
    this.handler.open(name, attrs, selfClosing);
    if (selfClosing) {
      this.stack.pop();
      this.names.pop();
      this.handler.close(name);
    }
  }
}
