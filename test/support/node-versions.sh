#!/usr/bin/env bash
# The unit tier and the quickstart on each Node release the test setup installs beside the
# machine's Node (node22, node24 in ~/.cache/mk-peers/bin: test/support/install-peers.sh).
# `npm test` runs it after the whole suite on the machine's Node.
#
# Usage: test/support/node-versions.sh [MAJOR...]   (default: 22 24)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${MK_PEERS_DIR:-$HOME/.cache/mk-peers}/bin"
majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(22 24)
scratch="$(mktemp -d "${TMPDIR:-/tmp}/mk-node-versions.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
for major in "${majors[@]}"; do
  node="$bin/node$major"
  if [ ! -x "$node" ]; then
    echo "node-versions: node$major is not installed; run: bash test/support/install-peers.sh node$major" >&2
    exit 1
  fi
  version="$("$node" --version)"
  # `node` on PATH is this release: mk's #!/usr/bin/env node, and the hooks mk install writes.
  mkdir -p "$scratch/$major/bin" "$scratch/$major/tmp"
  ln -sfn "$node" "$scratch/$major/bin/node"
  echo "== Node $version: the unit tier"
  PATH="$scratch/$major/bin:$PATH" "$node" node_modules/vitest/vitest.mjs run --project unit
  echo "== Node $version: the quickstart"
  PATH="$scratch/$major/bin:$PATH" TMPDIR="$scratch/$major/tmp" bash docs/quickstart.sh >"$scratch/$major/quickstart.log" 2>&1 || {
    tail -n 40 "$scratch/$major/quickstart.log" >&2
    echo "node-versions: the quickstart failed on Node $version" >&2
    exit 1
  }
  echo "the quickstart ran on Node $version"
done
