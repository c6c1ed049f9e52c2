#!/usr/bin/env bash
# ChipKit's ILGPU backend on an NVIDIA GPU machine that has no .NET (see docs/ilgpu.md).
#
#   scripts/gpu-check.sh pack   here (with the .NET SDK): publish chipkit self-contained for linux-x64 into
#                               .gpu/chipkit.tar.xz (no .pdb files; .gpu/ is git-ignored). Copy it with the checkout.
#   scripts/gpu-check.sh [run]  on the GPU machine: extract to /tmp, list devices, run `chipkit validate` on ilgpu-cuda:0,
#                               time SGEMM 4096^3, TF32 and BF16 tensor-core GEMM 4096^3 and ResNet-50 conv layers at
#                               batch 32 with NVML energy, time the same ops with cuBLAS / cuDNN (scripts/gpu-peer.py,
#                               PyTorch) and print ChipKit vs peer with ratios. Without an NVIDIA driver it says so and
#                               exits 0 (nothing to check here).
# Environment (run): CHIPKIT_TAR (default .gpu/chipkit.tar.xz), OUT (log folder, default /tmp/chipkit-gpu-out),
#   LAYERS (5 = five representative ResNet-50 layers, all = the 23 distinct layers; default 5), POWER (energy loop per
#   workload, default 3s), GPU_SIZE (GEMM size, default 4096), SKIP_VALIDATE=1, SKIP_PEER=1.
# Exit: 0 done (or no GPU here), 1 a check failed (validation, a wrong answer, ILGPU cannot open the GPU), 2 bad usage.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-run}"

pack() {
  command -v dotnet >/dev/null || { echo "gpu-check pack: the .NET SDK (dotnet) is needed here"; return 2; }
  rm -rf "$here/.gpu/chipkit" "$here/.gpu/chipkit.tar.xz"
  mkdir -p "$here/.gpu"
  dotnet publish "$here/src/ChipKit.Cli" -c Release -r linux-x64 --self-contained true -p:InvariantGlobalization=true \
    -o "$here/.gpu/chipkit" -nologo -v q || return 1
  find "$here/.gpu/chipkit" -name '*.pdb' -delete
  cp "$here/scripts/gpu-check.sh" "$here/scripts/gpu-peer.py" "$here/.gpu/chipkit/"
  tar -cJf "$here/.gpu/chipkit.tar.xz" -C "$here/.gpu" chipkit && rm -rf "$here/.gpu/chipkit"
  echo "packed $(du -h "$here/.gpu/chipkit.tar.xz" | cut -f1) into .gpu/chipkit.tar.xz; on the GPU machine: bash scripts/gpu-check.sh run"
}

has_gpu() {
  if command -v ldconfig >/dev/null && ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then return 0; fi
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib/wsl/lib; do
    [ -e "$d/libcuda.so.1" ] && return 0
  done
  return 1
}

run() {
  if ! has_gpu; then
    echo "gpu-check: no NVIDIA driver on this machine (libcuda.so.1 not found): skipping the GPU checks."
    return 0
  fi
  tarball="${CHIPKIT_TAR:-$here/.gpu/chipkit.tar.xz}"
  [ -f "$tarball" ] || { echo "gpu-check: $tarball not found (run 'scripts/gpu-check.sh pack' on a machine with .NET)"; return 2; }
  out="${OUT:-/tmp/chipkit-gpu-out}"; mkdir -p "$out"
  work="$(mktemp -d /tmp/chipkit-gpu.XXXXXX)"
  tar -xJf "$tarball" -C "$work" || return 1
  ck="$work/chipkit/chipkit"
  peer_py="$here/scripts/gpu-peer.py"; [ -f "$peer_py" ] || peer_py="$work/chipkit/gpu-peer.py"
  export CUDA_DEVICE_ORDER=PCI_BUS_ID   # ilgpu-cuda:N and NVML GPU N then name the same board
  export DOTNET_CLI_TELEMETRY_OPTOUT=1
  status=0
  echo "== devices"
  "$ck" devices | tee "$out/devices.txt"
  if ! grep -qE '^ilgpu-cuda:0 +ilgpu +yes' "$out/devices.txt"; then
    echo "gpu-check: a driver is installed but ilgpu-cuda:0 is not available (see the reason above)"; return 1
  fi
  nvidia-smi --query-gpu=name,driver_version,power.draw,clocks.sm --format=csv 2>/dev/null | tee "$out/nvidia-smi.csv"

  if [ "${SKIP_VALIDATE:-0}" != 1 ]; then
    echo "== chipkit validate --device ilgpu-cuda:0 --level quick"
    timeout 600 "$ck" validate --device ilgpu-cuda:0 --level quick --quiet --out "$out/validate.json" --markdown "$out/validate.md" \
      > "$out/validate.log" 2>&1 || { status=1; echo "validation FAILED (see $out/validate.md)"; }
    tail -n 15 "$out/validate.log"
  fi

  n="${GPU_SIZE:-4096}"
  # tb=1 (B stored [N,K]): the same speed for the GPU and cuBLAS, and the oracle's double-precision reference (run on the
  # host CPU for every result) reads both operands contiguously, which keeps it to seconds at 4096^3.
  specs=("gemm:m=$n,n=$n,k=$n,tb=1" "gemm:m=$n,n=$n,k=$n,tb=1,dtype=tf32" "gemm:m=$n,n=$n,k=$n,tb=1,dtype=bf16")
  if [ "${LAYERS:-5}" = all ]; then
    while read -r s _; do specs+=("${s/n=1,/n=32,}"); done < <("$ck" suites resnet50 | grep '^conv:')
  else
    specs+=("conv:n=32,c=3,h=224,w=224,k=64,r=7,s=7,stride=2,pad=3" "conv:n=32,c=64,h=56,w=56,k=64,r=3,s=3,pad=1"
            "conv:n=32,c=64,h=56,w=56,k=256,r=1,s=1" "conv:n=32,c=256,h=14,w=14,k=256,r=3,s=3,pad=1"
            "conv:n=32,c=512,h=7,w=7,k=2048,r=1,s=1")
  fi
  wl=(); for s in "${specs[@]}"; do wl+=(--workload "$s"); done
  echo "== chipkit run (ilgpu-cuda:0, ${#specs[@]} workloads, energy over ${POWER:-3s} each)"
  timeout 1200 "$ck" run --device ilgpu-cuda:0 "${wl[@]}" --min-time 1s --min-samples 5 --warmup 0.2s \
    --power-duration "${POWER:-3s}" --out "$out/chipkit.json" 2>&1 | tee "$out/run.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1

  if [ "${SKIP_PEER:-0}" != 1 ]; then
    echo "== peer: cuBLAS / cuDNN through PyTorch"
    psec="${POWER:-3s}"; psec="${psec%s}"
    timeout 900 python3 "$peer_py" --power-seconds "$psec" "${specs[@]}" > "$out/peer.jsonl" 2> "$out/peer.log" || echo "peer script failed (see $out/peer.log)"
  fi

  echo "== ChipKit (ILGPU) vs peer, same run, same GPU"
  python3 - "$out/chipkit.json" "$out/peer.jsonl" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
peer = {}
try:
    for line in open(sys.argv[2]):
        r = json.loads(line)
        if "spec" in r:
            peer[r["spec"]] = r
except FileNotFoundError:
    pass
def target(spec):
    if spec.startswith("gemm") and ("tf32" in spec or "bf16" in spec): return 0.6
    if spec.startswith("gemm"): return 0.8
    return 0.5
print(f"{'workload':58} {'chipkit GFLOP/s':>15} {'W':>6} {'GF/W':>6} {'peer':>12} {'peer GFLOP/s':>12} {'W':>6} {'GF/W':>6} {'ratio':>6} target")
for r in doc["results"]:
    spec = r["workload"]; p = peer.get(spec, {})
    g = r.get("gops"); e = r.get("energy") or {}
    pg = p.get("gflops"); ratio = g / pg if g and pg else None
    mark = "" if ratio is None else ("ok" if ratio >= target(spec) else "MISS") + f" (>= {target(spec)})"
    f = lambda v, w=0: "-" if v is None else f"{v:,.{w}f}"
    status = "" if r["status"] == "ok" else f" [{r['status']}: {(r.get('message') or '')[:60]}]"
    print(f"{spec[:58]:58} {f(g):>15} {f(e.get('watts')):>6} {f(e.get('gops_per_watt'), 1):>6} {p.get('peer', '-'):>12} {f(pg):>12} {f(p.get('watts')):>6} {f(p.get('gflops_per_watt'), 1):>6} {f(ratio, 2):>6} {mark}{status}")
print("times: ChipKit device events (ILGPU profiling markers = CUDA events), peer CUDA events; energy: NVML (counter or sampled power) for both")
PY
  echo "logs: $out"
  return $status
}

case "$mode" in
  pack) pack ;;
  run) run ;;
  *) echo "usage: scripts/gpu-check.sh [pack|run]"; exit 2 ;;
esac
