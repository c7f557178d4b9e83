/**
 * A file that is not well-formed XML (or is cut off, or is not in the encoding it declares).
 * The message is in Russian because it goes back to the 1C administrator as `failure\n<message>`;
 * it names the file, the line and the element being read.
 */
export class CmlSyntaxError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CmlSyntaxError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}
