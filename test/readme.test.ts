/**
 * The README's test command is what CI runs: .ci/run is a thin wrapper (cd to the repo root, then
 * the README's second command verbatim), so the two cannot drift apart.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The commands of the README's first code block, without their comments. */
function readmeCommands(): string[] {
  const readme = readFileSync(root('README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean);
}

/** The lines .ci/run executes: everything but the shebang, comments and blank lines. */
function ciCommands(): string[] {
  return readFileSync(root('.ci/run'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

describe('the README test command', () => {
  it('is the second command of the README and installs, lints and tests', () => {
    const [, test] = readmeCommands();
    expect(test).toBe('scripts/install-test-deps.sh && npm ci && npm run lint && npm test');
  });

  it('is exactly what .ci/run runs, from the repo root', () => {
    const [, test] = readmeCommands();
    expect(ciCommands()).toEqual(['set -euo pipefail', 'cd "$(dirname "$0")/.."', test]);
  });

  it('starts with scripts that a fresh clone can execute', () => {
    for (const file of ['.ci/run', 'scripts/install-test-deps.sh']) {
      expect(statSync(root(file)).mode & 0o111, file).toBe(0o111);
    }
  });
});
