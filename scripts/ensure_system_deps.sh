#!/usr/bin/env bash
# Install the system packages the test suite needs when they are missing.
#
#   bash scripts/ensure_system_deps.sh      (run by `make test` before pytest)
#
# - Debian `chromium`       headless browser for tests/report/test_browser.py
# - Debian `poppler-utils`  pdftoppm for tests/report/test_pdf_pages.py
#
# Idempotent and fast when everything is present (no apt call at all). As root,
# missing packages are installed with one `apt-get update` and one
# `apt-get install -y`. Not root and something missing: say what is missing and
# how to install it, and exit 0 - the tests that need it skip with a reason.
set -euo pipefail

say() { echo "ensure_system_deps: $*" >&2; }

# command that proves the package is installed -> Debian package name
declare -A NEED=(
    [chromium]=chromium
    [pdftoppm]=poppler-utils
)

missing=()
for cmd in "${!NEED[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        missing+=("${NEED[$cmd]}")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

# sorted, so the message and the apt command line are stable
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
    say "missing: ${missing[*]} (not root, not installing)."
    say "install them with: sudo apt-get install -y ${missing[*]}"
    say "until then the browser/PDF-page tests are skipped."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]}, and there is no apt-get here; the tests needing them skip."
    exit 0
fi

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" fonts-dejavu-core >&2

for cmd in "${!NEED[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || { say "error: $cmd still missing after install"; exit 1; }
done
say "done"
