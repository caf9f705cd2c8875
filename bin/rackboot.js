#!/usr/bin/env node
// The `rackboot` command: runs the compiled CLI (npm start / npm test build it into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('rackboot: not built yet: run `npm start` (or `npm run build`) first\n');
  process.exit(1);
}
const { runCli } = await import(cli);
process.exitCode = await runCli(process.argv.slice(2));
