// Entry of the compiled obmen (scripts/build-cli.mjs bundles it into dist/cli/obmen.js).
// From the sources, bin/obmen.mjs imports main.ts itself.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
