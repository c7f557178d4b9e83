// `node --import tsx src/demo/bin.ts [options]`: the demo without the obmen CLI (tests, scripts).
import { runDemoCli } from './cli.ts';

try {
  process.exitCode = await runDemoCli(process.argv.slice(2));
} catch (error) {
  // A wrong flag or a port in use: say what, without a stack trace.
  process.stderr.write(`obmen demo: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
