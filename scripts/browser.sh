#!/usr/bin/env bash
# Installs what the dashboard's browser tests need, when it is missing: Debian's Chromium (with
# chromium-driver) and fonts for the scripts in the seed's tweets (Noto for Arabic, Persian,
# Thai, and CJK), Node.js with npm, and the pinned playwright-core (tests/browser/package-lock.json)
# that drives Chromium. Idempotent: does nothing on a machine that has them. Playwright's own
# browser download is never used: the tests start /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "scripts/browser.sh: $*" >&2; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -d /usr/share/fonts/truetype/noto ] || missing+=(fonts-noto-core)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
    scripts/apt-install scripts/browser.sh "${missing[@]}"
fi

# npm ci again only when the lock file changed since the last install.
lock=tests/browser/package-lock.json
installed=tests/browser/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; then
    say "installing playwright-core (npm, pinned in $lock)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
