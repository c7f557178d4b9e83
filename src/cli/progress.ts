/**
 * Progress of long runs: a live line (items, rate, ETA) on a terminal, plain lines otherwise
 * (logs and CI read those).
 */
export interface Progress {
  update(done: number, total?: number): void;
  finish(summary: string): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  const line = (done: number, total?: number) => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = done / seconds;
    const eta = total && rate > 0 ? ` ETA ${Math.max(0, Math.ceil((total - done) / rate))}s` : '';
    const of = total ? `/${total}` : '';
    return `${label}: ${done}${of} items, ${rate.toFixed(0)}/s${eta}`;
  };
  return {
    update(done, total) {
      if (tty) {
        stream.write(`\r${line(done, total)}\x1b[K`);
      } else if (Date.now() - lastPlain >= 2000) {
        lastPlain = Date.now();
        stream.write(`${line(done, total)}\n`);
      }
    },
    finish(summary) {
      if (tty) stream.write('\r\x1b[K');
      stream.write(`${label}: ${summary} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    },
  };
}
