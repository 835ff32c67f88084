#!/usr/bin/env bash
# Installs system packages the test suite needs when they are missing.
# Nothing is needed yet; later slices add Chromium, poppler-utils, PostgreSQL.
set -euo pipefail
exit 0
