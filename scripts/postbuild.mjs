// Make the CLI entry executable, so `npx focal-sweep` and ./dist/cli.js work right after `npm ci`.
import { chmodSync, existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
