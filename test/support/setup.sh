#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (run as root):
# Debian packages (docker-registry, skopeo, git-lfs, htpasswd, zstd, chromium, cmark-gfm: GitHub's Markdown renderer), the kit, oras, crane and
# cosign clients and distribution v3's registry (built from the Go module proxy into
# ~/.cache/mk-peers/bin), model_signing and DVC (PyPI, each in its own venv: the pipeline tests
# compare mk repro with dvc repro), Node 22 and 24 beside the machine's Node (npm registry:
# node22, node24 in ~/.cache/mk-peers/bin), and the npm dependencies.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v git >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git; }
bash test/support/install-peers.sh apt oras kit crane distribution model-signing cosign dvc node22 node24
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
