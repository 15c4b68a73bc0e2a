#!/usr/bin/env bash
# Installs what WebGPU needs on a CPU-only Debian 12 (bookworm) machine: the Vulkan loader
# (libvulkan1) and Mesa's lavapipe software Vulkan driver (mesa-vulkan-drivers >= 25, which Dawn
# accepts; bookworm's own 22.3 is rejected for missing shader*ArrayDynamicIndexing features).
#
# Mesa 25 lives in the bookworm-backports suite. This script adds that suite next to the machine's
# existing Debian source: the mirror URI is read from /etc/apt/sources.list and
# /etc/apt/sources.list.d/*.list / *.sources (no mirror host is written in this file).
#
# Run as root. Idempotent: a second run changes nothing when all is in place.
# Usage: sudo .ci/install-webgpu-deps.sh
#        .ci/install-webgpu-deps.sh --print-mirror   # only print the derived mirror (no root needed)
# APT_DIR (default /etc/apt) names the apt configuration folder to read, for testing the parsing.
set -euo pipefail

MIN_MESA_MAJOR=25
APT_DIR=${APT_DIR:-/etc/apt}
TARGET_FILE=$APT_DIR/sources.list.d/webgpu-backports.sources
PRINT_ONLY=0
[[ ${1:-} == --print-mirror ]] && PRINT_ONLY=1

log() { printf 'install-webgpu-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck disable=SC1091
. /etc/os-release
CODENAME=${VERSION_CODENAME:-}
[[ ${ID:-} == debian && -n $CODENAME ]] || die "/etc/os-release: expected ID=debian with VERSION_CODENAME, got ID=${ID:-?} VERSION_CODENAME=${CODENAME:-?}"
BACKPORTS="${CODENAME}-backports"

mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Status} ${Version}\n' mesa-vulkan-drivers 2>/dev/null | awk '$3 == "installed" {print $4}')
  [[ -n $v ]] || { echo 0; return; }
  v=${v#*:}
  echo "${v%%.*}"
}

if [[ $PRINT_ONLY -eq 0 ]]; then
  [[ $(id -u) -eq 0 ]] || die "must run as root (apt-get install needs it)"
  command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian only"
fi

if [[ $PRINT_ONLY -eq 0 ]] && [[ $(mesa_major) -ge $MIN_MESA_MAJOR ]] && dpkg-query -W -f='${Status}\n' libvulkan1 2>/dev/null | grep -q 'ok installed'; then
  log "mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) and libvulkan1 already installed"
  exit 0
fi

# --- Find the Debian mirror URI (and keyring) serving "$CODENAME" -------------------------------
# Prints "URI<TAB>SIGNED_BY" for every source that serves suite $CODENAME or $CODENAME-updates.
find_sources() {
  local f
  # One-line format: deb [opts] URI SUITE COMPONENTS...
  for f in "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk -v cn="$CODENAME" '
      /^[[:space:]]*deb[[:space:]]/ {
        signed = ""; i = 2
        if ($2 ~ /^\[/) {
          line = $0; sub(/^[^[]*\[/, "", line); opts = line; sub(/\].*$/, "", opts)
          n = split(opts, o, /[[:space:]]+/)
          for (k = 1; k <= n; k++) if (o[k] ~ /^signed-by=/) { signed = o[k]; sub(/^signed-by=/, "", signed) }
          while (i <= NF && $i !~ /\]$/) i++
          i++
        }
        uri = $i; suite = $(i + 1)
        if (suite == cn || suite == cn "-updates") printf "%s\t%s\n", uri, signed
      }' "$f"
  done
  # deb822 format: stanzas separated by blank lines.
  for f in "$APT_DIR"/sources.list.d/*.sources; do
    [[ -f $f && $f != "$TARGET_FILE" ]] || continue
    awk -v cn="$CODENAME" '
      function flush() {
        if (types ~ /(^|[[:space:]])deb($|[[:space:]])/ && enabled != "no") {
          n = split(suites, s, /[[:space:]]+/); hit = 0
          for (k = 1; k <= n; k++) if (s[k] == cn || s[k] == cn "-updates") hit = 1
          if (hit) { m = split(uris, u, /[[:space:]]+/); for (k = 1; k <= m; k++) if (u[k] != "") printf "%s\t%s\n", u[k], signed }
        }
        types = ""; uris = ""; suites = ""; signed = ""; enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        key = tolower($1); val = $0; sub(/^[^:]*:[[:space:]]*/, "", val)
        if (key == "types:") types = val
        else if (key == "uris:") uris = val
        else if (key == "suites:") suites = val
        else if (key == "signed-by:") signed = val
        else if (key == "enabled:") enabled = tolower(val)
      }
      END { flush() }' "$f"
  done
}

SOURCE_LINE=$(find_sources | head -n 1)
[[ -n $SOURCE_LINE ]] || die "no apt source serving suite '$CODENAME' found in $APT_DIR/sources.list or $APT_DIR/sources.list.d/"
MIRROR=${SOURCE_LINE%%$'\t'*}
SIGNED_BY=${SOURCE_LINE#*$'\t'}
if [[ $PRINT_ONLY -eq 1 ]]; then
  printf '%s\t%s\n' "$MIRROR" "$SIGNED_BY"
  exit 0
fi
log "Debian mirror from existing sources: $MIRROR"

# --- Add the backports suite (once) --------------------------------------------------------------
ALREADY=0
for f in "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list "$APT_DIR"/sources.list.d/*.sources; do
  [[ -f $f && $f != "$TARGET_FILE" ]] || continue
  if grep -Eq "^[^#]*[[:space:]]${BACKPORTS}([[:space:]]|$)" "$f"; then ALREADY=1; log "suite $BACKPORTS already in $f"; fi
done

WANT=$(
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$MIRROR" "$BACKPORTS"
  [[ -n $SIGNED_BY ]] && printf 'Signed-By: %s\n' "$SIGNED_BY"
  true
)
if [[ $ALREADY -eq 0 ]]; then
  if [[ -f $TARGET_FILE && "$(cat "$TARGET_FILE")" == "$WANT" ]]; then
    log "$TARGET_FILE already up to date"
  else
    printf '%s\n' "$WANT" >"$TARGET_FILE"
    log "wrote $TARGET_FILE"
  fi
fi

# --- Install --------------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends -t "$BACKPORTS" mesa-vulkan-drivers libvulkan1

major=$(mesa_major)
[[ $major -ge $MIN_MESA_MAJOR ]] || die "mesa-vulkan-drivers major version $major < $MIN_MESA_MAJOR after install"
log "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1)"
ls /usr/share/vulkan/icd.d/ >&2 2>/dev/null || true
