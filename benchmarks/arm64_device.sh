#!/usr/bin/env bash
# The device-side install on aarch64, without TensorFlow, gives the same int8 answers as x86.
#
# Builds an arm64 Debian root (debootstrap, run by qemu-user through binfmt_misc), installs edgekit's
# base package there from a wheel built here (no [convert] extra: no TensorFlow), then evaluates
# Google's int8 v1-0.25-128 on eval300 inside it and on this machine, twice each:
#   - default kernels (XNNPACK): top-1 must be equal; outputs may differ by a few uint8 steps;
#   - reference kernels (--reference-kernels): outputs_sha256 must be equal (bit-exact).
# Slow (about 10 min the first time, most of it debootstrap and emulated pip); not in `make test`.
# Needs root (chroot, mounts) and Debian's package registry. Usage:
#   sudo bash benchmarks/arm64_device.sh [ROOT_DIR]      (default: /var/tmp/edgekit-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-/var/tmp/edgekit-arm64}
DATA=${EDGEKIT_DATA:-$(cd ../shared/data && pwd)}
PY=${PY:-.venv/bin/python}
MODEL=coral/mobilenet_v1_0.25_128_quant.tflite
MIRROR=${MIRROR:-http://deb.debian.org/debian}

[ "$(id -u)" = 0 ] || { echo "needs root (debootstrap, chroot, mounts)"; exit 2; }
command -v qemu-aarch64-static >/dev/null && command -v debootstrap >/dev/null || \
  apt-get install -y -q qemu-user-static debootstrap binfmt-support >/dev/null
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64

if [ ! -x "$ROOT/usr/bin/python3" ]; then
  echo "== debootstrap arm64 bookworm into $ROOT"
  start=$(date +%s)
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip \
    bookworm "$ROOT" "$MIRROR" >/dev/null
  echo "   took $(( $(date +%s) - start )) s"
fi

cleanup() {
  for m in data proc/cpuinfo proc sys dev; do umount "$ROOT/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"          # without /sys LiteRT silently skips XNNPACK
mount --bind /dev "$ROOT/dev"
# LiteRT reads /proc/cpuinfo for CPU features; qemu's x86 one makes it crash: give it a Pi 4's
cat > "$ROOT/tmp/cpuinfo" <<'EOF'
processor	: 0
BogoMIPS	: 108.00
Features	: fp asimd evtstrm crc32 cpuid
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd08
CPU revision	: 3

Hardware	: BCM2835
Model		: Raspberry Pi 4 Model B Rev 1.4
EOF
mount --bind "$ROOT/tmp/cpuinfo" "$ROOT/proc/cpuinfo"
mkdir -p "$ROOT/data" && mount --bind -o ro "$DATA" "$ROOT/data"

# pip in the root trusts what this machine trusts (a registry proxy may have its own CA)
CA=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
[ -f "$CA" ] && install -D -m 644 "$CA" "$ROOT/etc/ssl/certs/ca-certificates.crt"
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
unset PIP_FIND_LINKS PIP_CONSTRAINT
echo "== build edgekit's wheel here and install the base package (no TensorFlow) in the arm64 root"
rm -rf "$ROOT/tmp/wheel" && mkdir -p "$ROOT/tmp/wheel"
$PY -m pip wheel --quiet --no-deps --wheel-dir "$ROOT/tmp/wheel" . >/dev/null 2>&1
start=$(date +%s)
chroot "$ROOT" /bin/sh -c "[ -x /opt/edgekit/bin/python ] || python3 -m venv /opt/edgekit; \
  /opt/edgekit/bin/pip install --quiet --upgrade --force-reinstall --no-deps /tmp/wheel/edgekit-*.whl && \
  /opt/edgekit/bin/pip install --quiet /tmp/wheel/edgekit-*.whl"
echo "   took $(( $(date +%s) - start )) s"
chroot "$ROOT" /opt/edgekit/bin/python -c "
import importlib.util, platform
assert importlib.util.find_spec('tensorflow') is None, 'TensorFlow must not be on the device'
import edgekit, ai_edge_litert, numpy
print('   arm64 root:', platform.machine(), 'python', platform.python_version(), 'edgekit', edgekit.__version__,
      'numpy', numpy.__version__, '(no tensorflow)')"

evaluate() {  # where (arm64|x86_64), extra flags
  if [ "$1" = arm64 ]; then
    chroot "$ROOT" /opt/edgekit/bin/edgekit eval "/data/$MODEL" --data /data/imagenet-val/eval300 \
      --no-record --json ${2:-}
  else
    .venv/bin/edgekit eval "$DATA/$MODEL" --data "$DATA/imagenet-val/eval300" --no-record --json ${2:-}
  fi 2>/dev/null
}

OUT=${OUT:-benchmarks/results/arm64_device.json}
mkdir -p "$(dirname "$OUT")"
results=()
for kernels in default reference; do
  flag=$([ $kernels = reference ] && echo --reference-kernels || true)
  for where in x86_64 arm64; do
    start=$(date +%s)
    json=$(evaluate $where "$flag")
    results+=("$(echo "$json" | $PY -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({
      'where': '$where', 'kernels': r['kernels'], 'count': r['count'], 'top1': r['top1'], 'top5': r['top5'],
      'outputs_sha256': r['outputs_sha256'], 'runtime': r['runtime'] + ' ' + r['runtime_version'],
      'seconds': $(date +%s) - $start}))")")
    echo "   ${results[-1]}"
  done
done
printf '%s\n' "${results[@]}" | $PY -c "
import json, sys
rows = [json.loads(line) for line in sys.stdin]
by = {(r['where'], r['kernels']): r for r in rows}
same_top1 = by[('x86_64', 'xnnpack')]['top1'] == by[('arm64', 'xnnpack')]['top1']
bit_exact = by[('x86_64', 'reference')]['outputs_sha256'] == by[('arm64', 'reference')]['outputs_sha256']
report = {'model': '$MODEL', 'data': 'eval300', 'rows': rows, 'same_top1_xnnpack': same_top1,
          'bit_exact_reference_kernels': bit_exact}
open('$OUT', 'w').write(json.dumps(report, indent=1))
print(f'== top-1 equal with XNNPACK: {same_top1}; outputs bit-exact with reference kernels: {bit_exact} ($OUT)')
sys.exit(0 if same_top1 and bit_exact else 1)"
