#!/usr/bin/env bash
# Installs the two system packages the tests need besides npm's: Debian's chromium (the report's
# browser test) and redis-server (the distributed-mode tests, which start their own server on a
# free port). Part of the README's test command, so a fresh Debian machine with Node needs nothing
# else. Does nothing when both commands are already on PATH; otherwise installs the missing ones
# with apt-get (as root, or through sudo). When it cannot, it says what to install and exits 1.
set -uo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0

cannot() {
  echo "error: the tests need ${need[*]}, and $1: install ${need[*]} (Debian: apt-get install ${need[*]}) and run the tests again" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || cannot "there is no apt-get here"
if [ "$(id -u)" = "0" ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  cannot "installing them needs root or sudo"
fi
# sudo drops most of the environment, so DEBIAN_FRONTEND is passed through env
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
echo "installing ${need[*]} with apt-get (for the tests)" >&2
"${apt[@]}" update -qq || cannot "apt-get update failed"
"${apt[@]}" install -y -qq --no-install-recommends "${need[@]}" || cannot "apt-get install failed"
for cmd in "${need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || cannot "$cmd is still not on PATH after apt-get install"
done
