#!/usr/bin/env bash
# Install the Debian packages the test suite drives (Chromium for the web app's browser tests) when missing.
# Called by `make test` (and so by CI); a no-op when they are there. Fails loudly when they cannot be installed.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system packages: installing ${missing[*]} (Debian packages)"
sudo_=()
[ "$(id -u)" = 0 ] || sudo_=(sudo)
if ! { "${sudo_[@]}" apt-get update -qq && \
       "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "system packages: could not install ${missing[*]}; install them with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
