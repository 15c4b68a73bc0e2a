#!/usr/bin/env bash
# Benchmarks on a lent GPU machine that has the NVIDIA driver (with its Vulkan ICD) but nothing
# else: no Bun, no node_modules, no Vulkan loader, no GL/X11 client libraries, no network, and at
# most 64 MiB may travel with the working tree.
#
#   tools/gpu-bench.sh pack [ARCHIVE]     here: build ARCHIVE (default /tmp/updates-leak-gpu-bench.tar.xz)
#   tools/gpu-bench.sh run  [--archive ARCHIVE] [--out DIR] [bench arguments ...]
#                                         there, from a checkout's root: unpack, set up Vulkan, run
#                                         bun packages/bench/src/cli.ts --json [bench arguments]
#
# The archive holds (paths relative to the checkout root, where it is unpacked):
#   .gpu-bench/bun             the Bun binary of node_modules (@oven/bun-linux-x64, else bun/bin/bun.exe)
#   .gpu-bench/lib/...         Debian's libvulkan1 and the libglvnd / X11 client libraries, fetched
#                              with `apt-get download` and unpacked with `dpkg -x` (never installed)
#   .gpu-bench/gpu-bench.sh    this script
#   node_modules/...           the runtime packages only (tfjs core/cpu/wasm/webgpu, bun-webgpu and its
#                              linux-x64 native library, arktype, small deps, the workspace links),
#                              without source maps, .d.ts files and the tfjs bundles Bun does not load
# The project's sources are NOT in it: `run` uses the checkout it is started in.
#
# `run` points VK_DRIVER_FILES (and VK_ICD_FILENAMES, for older loaders) at the NVIDIA ICD JSON
# (searched in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d, /usr/local/share/vulkan/icd.d, then the
# driver's folders), puts the carried libraries and the driver's library folder on LD_LIBRARY_PATH,
# and runs the bench with --backends webgpu,wasm (override with your own --backends) on the suites
# kernels engine train pipeline (override by naming suites). Output: the records on stdout and in
# DIR/results.jsonl, the log in DIR/bench.log (DIR: --out, else $OUT, else .gpu-bench/out).
set -euo pipefail

ARCH_LIB=usr/lib/x86_64-linux-gnu
DEBS=(libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libx11-6 libx11-xcb1 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0)
# Runtime packages (directories under node_modules); everything bench imports at run time.
PACKAGES=(
  @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-backend-webgpu
  seedrandom long node-fetch whatwg-url tr46 webidl-conversions
  arktype @ark/schema @ark/util arkregex
  bun-webgpu bun-webgpu-linux-x64
  @updates-leak
)
LIMIT_BYTES=$((64 * 1024 * 1024))

die() { echo "gpu-bench.sh: $*" >&2; exit 1; }

repo_root() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # tools/gpu-bench.sh in a checkout, or .gpu-bench/gpu-bench.sh after unpacking
  (cd "$here/.." && pwd)
}

find_bun() {
  local root=$1
  for b in "$root/node_modules/@oven/bun-linux-x64/bin/bun" "$root/node_modules/bun/bin/bun.exe"; do
    if [[ -f $b && -s $b ]]; then echo "$b"; return; fi
  done
  die "no Bun binary in node_modules (@oven/bun-linux-x64/bin/bun or bun/bin/bun.exe); run npm install"
}

prune() {
  local nm=$1
  find "$nm" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \
    -o -name '*.min.js' -o -name '*_test.js' -o -name '*.externs.js' -o -name '*.es2017.js' -o -name '*.fesm.js' \) \
    -type f -delete
  # tfjs: Bun loads each package's main CommonJS bundle (dist/tf-*.node.js); tfjs-core also its
  # ESM tree (register_all_gradients imports it). The browser bundles and the backends' ESM trees go.
  local tf=$nm/@tensorflow
  rm -f "$tf/tfjs-core/dist/tf-core.js"
  for b in cpu wasm webgpu; do
    local d=$tf/tfjs-backend-$b/dist
    find "$d" -mindepth 1 -maxdepth 1 ! -name "tf-backend-$b.node.js" ! -name '*.wasm' -exec rm -rf {} +
  done
  rm -rf "$tf/tfjs-backend-wasm/wasm-out/"*.wasm "$nm/bun-webgpu/node_modules"
}

pack() {
  local out=${1:-/tmp/updates-leak-gpu-bench.tar.xz}
  local root bun
  root=$(repo_root)
  [[ -d $root/node_modules ]] || die "$root/node_modules missing: run npm install first"
  command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "apt-get and dpkg are needed to fetch the libraries"
  bun=$(find_bun "$root")
  STAGE=$(mktemp -d /tmp/gpu-bench-stage.XXXXXX)
  trap 'rm -rf "$STAGE"' EXIT
  local stage=$STAGE
  mkdir -p "$stage/.gpu-bench/lib" "$stage/node_modules" "$stage/debs"

  echo "bun: $bun ($("$bun" --version))"
  cp "$bun" "$stage/.gpu-bench/bun"
  chmod 755 "$stage/.gpu-bench/bun"
  cp "${BASH_SOURCE[0]}" "$stage/.gpu-bench/gpu-bench.sh"

  for p in "${PACKAGES[@]}"; do
    [[ -e $root/node_modules/$p ]] || die "node_modules/$p missing"
    mkdir -p "$stage/node_modules/$(dirname "$p")"
    cp -a "$root/node_modules/$p" "$stage/node_modules/$p"
  done
  prune "$stage/node_modules"

  echo "libraries: apt-get download ${DEBS[*]}"
  (cd "$stage/debs" && apt-get download "${DEBS[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  for d in "$stage"/debs/*.deb; do dpkg -x "$d" "$stage/.gpu-bench/lib"; done
  ls "$stage"/debs/*.deb | xargs -n1 basename >"$stage/.gpu-bench/DEBS"
  rm -rf "$stage/debs" "$stage/.gpu-bench/lib/usr/share"
  [[ -e $stage/.gpu-bench/lib/$ARCH_LIB/libvulkan.so.1 ]] || die "libvulkan.so.1 missing after unpacking the packages"

  {
    echo "packed $(date -u +%FT%TZ) from $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "bun $("$bun" --version)"
    for p in "${PACKAGES[@]}"; do
      [[ -f $root/node_modules/$p/package.json ]] && echo "$p $(grep -m1 '"version"' "$root/node_modules/$p/package.json" | tr -d ' ",' | cut -d: -f2)"
    done
  } >"$stage/.gpu-bench/MANIFEST"

  echo "staged: $(du -sh "$stage" | cut -f1); compressing (xz -6, one thread) ..."
  tar -C "$stage" -cf - .gpu-bench node_modules | xz -6 -T1 >"$out"
  local size
  size=$(stat -c %s "$out")
  awk -v f="$out" -v s="$size" 'BEGIN { printf "archive: %s, %.1f MiB (limit 64 MiB)\n", f, s / 1048576 }'
  ((size < LIMIT_BYTES)) || die "$out is over 64 MiB"
}

find_icd() {
  local f
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
    for f in "$d"/nvidia_icd*.json; do [[ -f $f ]] && { echo "$f"; return; }; done
  done
  f=$(find /usr /etc /opt -maxdepth 6 -name 'nvidia_icd*.json' -print -quit 2>/dev/null || true)
  [[ -n $f ]] && echo "$f"
}

find_driver_libdir() {
  local f
  f=$( (ldconfig -p 2>/dev/null || true) | awk '/libGLX_nvidia\.so\.0|libEGL_nvidia\.so\.0/ {print $NF; exit}')
  if [[ -z $f ]]; then
    f=$(find /usr/lib /usr/lib64 /usr/local/nvidia /usr/local/lib /opt -maxdepth 4 \
      \( -name 'libGLX_nvidia.so.0' -o -name 'libEGL_nvidia.so.0' \) -print -quit 2>/dev/null || true)
  fi
  [[ -n $f ]] && dirname "$f"
}

run() {
  local archive="" out=${OUT:-} args=()
  while (($#)); do
    case $1 in
      --archive) archive=$2; shift 2 ;;
      --out) out=$2; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  local root
  root=$(pwd)
  [[ -f $root/packages/bench/src/cli.ts ]] || die "run it from the checkout's root (packages/bench/src/cli.ts not found in $root)"
  if [[ -n $archive ]]; then
    [[ -f $archive ]] || die "--archive $archive: no such file"
    # Never unpack the pruned packages over a developer's full node_modules.
    if [[ -d $root/node_modules && ! -f $root/.gpu-bench/MANIFEST ]]; then
      die "$root/node_modules exists and was not unpacked from a pack: run in a fresh checkout (or remove it)"
    fi
    local t0=$SECONDS
    xz -dc "$archive" | tar -C "$root" -xf -
    echo "unpacked $archive in $((SECONDS - t0)) s" >&2
  fi
  local bun=$root/.gpu-bench/bun lib=$root/.gpu-bench/lib/$ARCH_LIB
  [[ -x $bun ]] || die "$bun missing: pass --archive ARCHIVE (built by 'tools/gpu-bench.sh pack')"
  out=${out:-$root/.gpu-bench/out}
  mkdir -p "$out"

  local icd driver
  icd=$(find_icd || true)
  driver=$(find_driver_libdir || true)
  export LD_LIBRARY_PATH="$lib${driver:+:$driver}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if [[ -n $icd ]]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  else
    echo "warning: no nvidia_icd*.json found; the Vulkan loader uses its default search" >&2
  fi
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d /tmp/xdg-runtime.XXXXXX)}
  {
    echo "ICD: ${icd:-none}"
    echo "driver libraries: ${driver:-not found}"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
    echo "bun $("$bun" --version)"
  } | tee "$out/setup.log" >&2

  local has_backends=0 has_suite=0
  for a in "${args[@]+"${args[@]}"}"; do
    [[ $a == --backends ]] && has_backends=1
    [[ $a =~ ^(kernels|engine|train|data|pipeline|all)$ ]] && has_suite=1
  done
  ((has_suite)) || args=(kernels engine train pipeline "${args[@]+"${args[@]}"}")
  ((has_backends)) || args+=(--backends webgpu,wasm)
  echo "running: bun packages/bench/src/cli.ts --json --out $out/results.jsonl ${args[*]}" >&2
  "$bun" packages/bench/src/cli.ts --json --out "$out/results.jsonl" "${args[@]}" 2> >(tee "$out/bench.log" >&2)
}

case ${1:-} in
  pack) shift; pack "$@" ;;
  run) shift; run "$@" ;;
  *) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
