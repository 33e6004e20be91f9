#!/usr/bin/env bash
# Sets up a fresh machine for Switchboard: Debian packages, npm dependencies, the renderer build.
# Safe to run again. Needs root (or sudo) only for the Debian packages, and skips them when present.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the end-to-end tests drive the real renderer in it; ffmpeg: decodes mp3/m4a/ogg/webm/flac
# (a static ffmpeg also comes from npm, the system one is the fallback); curl: the README examples test;
# strace, iproute2 (ip) and util-linux (unshare): the privacy proof traces a session in a loopback-only namespace;
# redis-server: the shared-state tests and benchmark run instances against a real Redis.
debian_packages=(chromium ffmpeg curl strace iproute2 util-linux redis-server)
missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    run_as_root=()
    [ "$(id -u)" -eq 0 ] || run_as_root=(sudo)
    echo "setup: installing Debian packages: ${missing[*]}"
    "${run_as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${run_as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "setup: please install ${missing[*]} with your system's package manager" >&2
  fi
fi

# Downloads that cannot succeed on an offline machine are skipped: Electron's binary (only `npm run desktop`
# and `npm run dist` need it), Playwright's browsers (Debian's chromium is used), onnxruntime's CUDA extras
# (the CPU build ships inside the package) and llama.cpp source builds (prebuilt binaries come from npm).
export ELECTRON_SKIP_BINARY_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 ONNXRUNTIME_NODE_INSTALL=skip \
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
# `npm install`, not `npm ci`: this npm records only this platform's optional binaries (biome, llama.cpp)
# in the lock file, and `npm ci` then refuses the lock as out of sync; install still follows its versions.
npm install --no-audit --no-fund

npm run build
