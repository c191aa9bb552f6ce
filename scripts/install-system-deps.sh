#!/usr/bin/env bash
# System packages the tests and benchmarks need beyond Python and npm, from Debian's apt. Idempotent:
# installs only what is missing, so a machine that has them pays nothing.
#   postgresql — server binaries for the throwaway test cluster (tests/integration/postgres.py)
#   chromium   — headless browser for the verifier page tests
#   wrk        — HTTP load generator of the service benchmarks (bench/bench_verifier_service.py,
#                bench/bench_vc_api.py; without it they fall back to a slower Python one, and say so)
#   fonts-noto-cjk — Chinese glyphs in Chromium's screenshots of the bilingual pages (else boxes)
#   poppler-utils  — pdftoppm, which turns the printable certificate into PNGs for its tests
#   poppler-data   — the CMaps poppler needs to draw the certificate's Chinese (reportlab's CID font
#                    STSong-Light, which a PDF reader supplies rather than the file)
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wrk > /dev/null || missing+=(wrk)
[ -d /usr/share/fonts/opentype/noto ] && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing+=(fonts-noto-cjk)
command -v pdftoppm > /dev/null || missing+=(poppler-utils)
[ -d /usr/share/poppler/cMap/Adobe-GB1 ] || missing+=(poppler-data)

if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages present: postgresql, chromium, wrk, fonts-noto-cjk, poppler-utils, poppler-data"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
