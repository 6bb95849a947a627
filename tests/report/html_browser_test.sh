#!/usr/bin/env bash
# The HTML report in a real headless browser (Debian's chromium): the page
# renders with no console messages and its screenshot is not blank. Both
# checks are first shown to catch a broken page and a blank one.
# Usage: html_browser_test.sh TESSEL SOURCE_DIR
set -uo pipefail
tessel="$1"
root="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
failures=0
check() {  # check NAME CONDITION-EXIT-CODE
  if [[ "$2" -eq 0 ]]; then passed=$((passed + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi
}

# Renders a page to a PNG; its console messages go to $out.console.
render() {
  local page="$1" out="$2"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d -p "$tmp")" \
    --enable-logging=stderr --v=0 --window-size=1300,2400 --screenshot="$out" "file://$page" \
    2>"$out.log" >/dev/null
  grep -E ":CONSOLE(:|\()" "$out.log" >"$out.console" || true
}

# Not blank: at least 2% non-white pixels and more than 8 colours.
not_blank() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
from PIL import Image
img = Image.open(sys.argv[1]).convert("RGB")
pixels = list(img.getdata())
non_white = sum(1 for p in pixels if min(p) < 240) / len(pixels)
colours = len(set(pixels))
print(f"{sys.argv[1]}: {100 * non_white:.1f}% non-white, {colours} colours")
sys.exit(0 if non_white > 0.02 and colours > 8 else 1)
PY
}

# The harness itself: a page with a console error, and a blank page.
printf '<!doctype html><html><body><p>x</p><script>console.error("boom")</script></body></html>' >"$tmp/broken.html"
printf '<!doctype html><html><body></body></html>' >"$tmp/blank.html"
render "$tmp/broken.html" "$tmp/broken.png"
[[ -s "$tmp/broken.png.console" ]]; check "console errors are detected" $?
render "$tmp/blank.html" "$tmp/blank.png"
! not_blank "$tmp/blank.png" >/dev/null; check "a blank page is detected" $?

# The real thing: a ResNet-50 report and a SCALE-Sim one.
cd "$root"
for spec in "configs/arch/edge_npu.json resnet50" "configs/arch/scalesim_32x32_ws.cfg configs/workloads/alexnet_scalesim.csv"; do
  read -r arch workload <<<"$spec"
  name="$(basename "$arch" | cut -d. -f1)"
  "$tessel" simulate --arch "$arch" --workload "$workload" -o "$tmp/$name.json" >/dev/null
  "$tessel" report "$tmp/$name.json" --html "$tmp/$name.html"
  check "report $name renders to HTML" $?
  render "$tmp/$name.html" "$tmp/$name.png"
  [[ -s "$tmp/$name.png" ]]; check "$name screenshot exists" $?
  if [[ -s "$tmp/$name.png.console" ]]; then
    echo "console messages from $name.html:"; cat "$tmp/$name.png.console"; check "$name has no console messages" 1
  else
    check "$name has no console messages" 0
  fi
  not_blank "$tmp/$name.png"; check "$name screenshot is not blank" $?
  # No external resources: the page must work offline.
  ! grep -qE '(src|href)="https?:' "$tmp/$name.html"; check "$name is self-contained" $?
done
echo "html report: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
