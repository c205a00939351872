#!/usr/bin/env bash
# Builds podnet's two executables, bundled, minified and precompiled to bytecode:
#   dist/podnet      the CLI, the agent and the lab (and the plugin when executed as one);
#   dist/podnet-cni  the CNI plugin alone (src/plugin-main.ts): what `podnet install-cni` installs
#                    as podnet and podnet-ipam. The runtime starts it on every pod ADD and DEL, so
#                    it carries none of the CLI's, agent's or datastore clients' modules.
# ES modules split into chunks: a dynamic import() loads its chunk only when it runs, so the
# plugin relaying to the node agent never loads the plugin's own work, and a CLI command never
# loads another's (bench/cni measures the start-up against a trivial compiled program).
# `scripts/build.sh OUT` writes the CLI to OUT and the plugin beside it as podnet-cni. Each is
# written beside its target and renamed, so nobody ever executes a half-written file.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/podnet}
plugin="$(dirname "$out")/podnet-cni"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp-$$"
tmp_plugin="$plugin.tmp-$$"
trap 'rm -f "$tmp" "$tmp_plugin"' EXIT
build() {
  node_modules/.bin/bun build --compile --minify --bytecode --format=esm --splitting "$1" --outfile "$2" >&2
}
build src/main.ts "$tmp"
build src/plugin-main.ts "$tmp_plugin"
mv -f "$tmp_plugin" "$plugin"
mv -f "$tmp" "$out"
