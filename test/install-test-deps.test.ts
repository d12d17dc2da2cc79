/**
 * scripts/install-test-deps.sh (the first step of the README's test command) on a simulated machine:
 * PATH is a folder of stubs (apt-get, sudo, id that log their calls), so the binaries it looks for
 * can be missing or present without touching the real system.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/install-test-deps.sh', import.meta.url));

interface Machine {
  /** Commands already installed. */
  has?: ('chromium' | 'redis-server' | 'apt-get' | 'sudo')[];
  uid?: number;
  /** apt-get install exits 100, as when a package is not found. */
  installFails?: boolean;
}

function stub(dir: string, name: string, body: string) {
  writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

/** Runs the script with PATH = a folder of stubs; returns its exit code, stderr and the stubs' log. */
function run(machine: Machine) {
  const bin = mkdtempSync(join(tmpdir(), 'fs-deps-'));
  const log = join(bin, 'calls.log');
  writeFileSync(log, '');
  stub(bin, 'id', `echo ${machine.uid ?? 0}`);
  symlinkSync('/usr/bin/env', join(bin, 'env'));
  for (const cmd of machine.has ?? []) {
    if (cmd === 'chromium' || cmd === 'redis-server') stub(bin, cmd, 'exit 0');
  }
  if (machine.has?.includes('sudo')) stub(bin, 'sudo', `echo "sudo $*" >> ${log}\nexec "$@"`);
  if (machine.has?.includes('apt-get')) {
    stub(
      bin,
      'apt-get',
      `echo "apt-get[DEBIAN_FRONTEND=$DEBIAN_FRONTEND] $*" >> ${log}
if [ "$1" = install ]; then
  ${machine.installFails ? 'exit 100' : ''}
  for p in "$@"; do case "$p" in chromium|redis-server) printf '#!/bin/bash\\n' > ${bin}/$p; /bin/chmod +x ${bin}/$p;; esac; done
fi`,
    );
  }
  const r = spawnSync('/bin/bash', [SCRIPT], { env: { PATH: bin }, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean), bin };
}

describe('scripts/install-test-deps.sh', () => {
  it('does nothing when chromium and redis-server are there', () => {
    const r = run({ has: ['chromium', 'redis-server', 'apt-get'] });
    expect(r).toMatchObject({ code: 0, stderr: '', calls: [] });
  });

  it('as root, installs what is missing with apt-get, non-interactively, without recommends', () => {
    const r = run({ has: ['apt-get'] });
    expect(r.calls).toEqual([
      'apt-get[DEBIAN_FRONTEND=noninteractive] update -qq',
      'apt-get[DEBIAN_FRONTEND=noninteractive] install -y -qq --no-install-recommends chromium redis-server',
    ]);
    expect(r.stderr).toBe('installing chromium redis-server with apt-get (for the tests)\n');
    expect(r.code).toBe(0);
    expect(existsSync(join(r.bin, 'chromium')) && existsSync(join(r.bin, 'redis-server'))).toBe(true);
  });

  it('as another user, goes through sudo and installs only what is missing', () => {
    const r = run({ has: ['apt-get', 'sudo', 'chromium'], uid: 1000 });
    expect(r.calls).toEqual([
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
      'apt-get[DEBIAN_FRONTEND=noninteractive] update -qq',
      'sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server',
      'apt-get[DEBIAN_FRONTEND=noninteractive] install -y -qq --no-install-recommends redis-server',
    ]);
    expect(r.code).toBe(0);
  });

  it('says what to install when it cannot: no root and no sudo', () => {
    const r = run({ has: ['apt-get'], uid: 1000 });
    expect(r.stderr).toBe(
      'error: the tests need chromium redis-server, and installing them needs root or sudo: install chromium redis-server (Debian: apt-get install chromium redis-server) and run the tests again\n',
    );
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
  });

  it('says what to install when it cannot: no apt-get', () => {
    const r = run({ has: ['chromium'] });
    expect(r.stderr).toBe(
      'error: the tests need redis-server, and there is no apt-get here: install redis-server (Debian: apt-get install redis-server) and run the tests again\n',
    );
    expect(r.code).toBe(1);
  });

  it('says what to install when apt-get fails', () => {
    const r = run({ has: ['apt-get', 'redis-server'], installFails: true });
    expect(r.stderr.split('\n').at(-2)).toBe(
      'error: the tests need chromium, and apt-get install failed: install chromium (Debian: apt-get install chromium) and run the tests again',
    );
    expect(r.code).toBe(1);
  });
});
