"""The fingerprint stored with every result: which machine, OS, Python and versions made it.

A latency means nothing without its conditions; two results are comparable only when these agree.
"""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("edgekit", "ai-edge-litert", "onnxruntime", "numpy")


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo; elsewhere what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# Which core a marketing name stands for. Cloud VMs report "AMD EPYC" for Zen 2, Zen 4 and Zen 5 alike (here: fp32
# peaks of 47 and 108 GMAC/s behind the same name), so the CPU's family/model (x86) or part number (Arm) is
# recorded beside it and named where it is known. (vendor, family, first model, last model, name); first match wins.
X86_CORES = (
    ("AuthenticAMD", 23, 0x30, 0xFF, "Zen 2"), ("AuthenticAMD", 23, 0x00, 0x2F, "Zen / Zen+"),
    ("AuthenticAMD", 25, 0x10, 0x1F, "Zen 4"), ("AuthenticAMD", 25, 0x60, 0x7F, "Zen 4"),
    ("AuthenticAMD", 25, 0xA0, 0xAF, "Zen 4"), ("AuthenticAMD", 25, 0x00, 0xFF, "Zen 3"),
    ("AuthenticAMD", 26, 0x00, 0x7F, "Zen 5"),
    ("GenuineIntel", 6, 0x55, 0x55, "Skylake-SP / Cascade Lake"), ("GenuineIntel", 6, 0x6A, 0x6C, "Ice Lake-SP"),
    ("GenuineIntel", 6, 0x8F, 0x8F, "Sapphire Rapids"), ("GenuineIntel", 6, 0xCF, 0xCF, "Emerald Rapids"),
    ("GenuineIntel", 6, 0xAD, 0xAE, "Granite Rapids"), ("GenuineIntel", 6, 0xAF, 0xAF, "Sierra Forest"),
    ("GenuineIntel", 6, 0x3F, 0x3F, "Haswell-EP"), ("GenuineIntel", 6, 0x4F, 0x4F, "Broadwell-EP"),
    ("GenuineIntel", 6, 0x97, 0x9A, "Alder Lake"), ("GenuineIntel", 6, 0xB7, 0xBF, "Raptor Lake"),
)
ARM_CORES = {  # "CPU implementer" 0x41 (Arm) "CPU part" -> core
    0xD03: "Cortex-A53", 0xD04: "Cortex-A35", 0xD05: "Cortex-A55", 0xD07: "Cortex-A57", 0xD08: "Cortex-A72",
    0xD09: "Cortex-A73", 0xD0A: "Cortex-A75", 0xD0B: "Cortex-A76", 0xD0D: "Cortex-A77", 0xD41: "Cortex-A78",
    0xD46: "Cortex-A510", 0xD47: "Cortex-A710", 0xD4D: "Cortex-A715", 0xD0C: "Neoverse N1", 0xD40: "Neoverse V1",
    0xD49: "Neoverse N2", 0xD4F: "Neoverse V2",
}


def cpu_id(cpuinfo: str | None = None) -> str:
    """Which core this is: 'Zen 5 (AMD family 26 model 2 stepping 1)', 'Cortex-A72 (Arm part 0xd08 r0p3)', or the
    bare family/model when the core is not in the tables; '' where /proc/cpuinfo does not say."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if not key.strip():
            if fields:
                break  # the first processor's block is enough
            continue
        fields.setdefault(key.strip(), value.strip())
    try:
        if "cpu family" in fields:
            vendor, family = fields.get("vendor_id", ""), int(fields["cpu family"])
            model, stepping = int(fields.get("model", "0")), fields.get("stepping", "?")
            name = next((n for v, f, lo, hi, n in X86_CORES if v == vendor and f == family and lo <= model <= hi), "")
            short = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}.get(vendor, vendor or "x86")
            raw = f"{short} family {family} model {model} stepping {stepping}"
            return f"{name} ({raw})" if name else raw
        if "CPU part" in fields:
            part = int(fields["CPU part"], 16)
            implementer = int(fields.get("CPU implementer", "0"), 16)
            name = ARM_CORES.get(part, "") if implementer == 0x41 else ""
            rev = f" r{int(fields.get('CPU variant', '0'), 16)}p{fields.get('CPU revision', '?')}"
            raw = f"{'Arm' if implementer == 0x41 else f'implementer {implementer:#x}'} part {part:#x}{rev}"
            return f"{name} ({raw})" if name else raw
    except ValueError:
        return ""
    return ""


def cpu_label(env: dict) -> str:
    """The CPU as tables name it: its model name and, where recorded, which core it is."""
    cpu, core = env.get("cpu") or "?", env.get("cpu_id")
    return f"{cpu} [{core}]" if core else cpu


# SIMD extensions that decide which XNNPACK / ONNX Runtime kernels run, int8 ones above all: without a
# dot-product instruction (x86 VNNI, Arm SDOT/I8MM) int8 convolutions gain little over float, and a
# marketing name ("AMD EPYC") does not say which of these a CPU has.
KERNEL_FEATURES = (
    "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "asimdhp", "bf16", "sve", "sve2",
)


def cpu_features(cpuinfo: str | None = None) -> list[str]:
    """The ``KERNEL_FEATURES`` this CPU has (Linux /proc/cpuinfo ``flags`` or ``Features``; else [])."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return []
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            have = set(value.split())
            return [f for f in KERNEL_FEATURES if f in have]
    return []


def int8_dot_product(features: list[str]) -> str:
    """The widest int8 dot-product instruction among ``features`` ("none": int8 gains little over float)."""
    return next((f for f in ("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "asimddp") if f in features), "none")


def usable_cores() -> int:
    """Cores this process may run on (respects taskset / cgroup affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def git_revision(where: str | Path | None = None) -> str | None:
    """``<sha>`` or ``<sha>-dirty`` of the git checkout at ``where`` (default: edgekit's own source)."""
    where = where or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Installed versions of the distributions ``names`` (those not installed are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


@lru_cache(maxsize=1)
def _machine() -> dict:
    """What cannot change while a process runs: the machine, its CPU, the OS and Python."""
    return {
        "hostname": platform.node(),
        "cpu": cpu_model(),
        "cpu_id": cpu_id(),
        "cpu_features": cpu_features(),
        "machine": platform.machine(),
        "cores": os.cpu_count() or 1,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def conditions(argv: list[str]) -> dict:
    """What a benchmark script records beside its figures: the CPU and its features, the int8 dot-product
    instructions, usable cores, edgekit's git revision and the command that made them."""
    import os

    features = cpu_features()
    return {"cpu": cpu_model(), "cpu_id": cpu_id(), "cpu_features": features,
            "int8_dot_product": int8_dot_product(features),
            "cores": len(os.sched_getaffinity(0)), "git": git_revision(), "command": " ".join(argv)}


def fingerprint() -> dict:
    """This machine and software, as stored beside each result.

    Only what cannot change inside a process is cached; the CPU affinity, package versions and the
    git state (a checkout can be edited during a long sweep) are read afresh on every call.
    """
    machine = _machine()
    return {
        **{k: machine[k] for k in ("hostname", "cpu", "cpu_id", "cpu_features", "machine", "cores")},
        "usable_cores": usable_cores(),
        **{k: machine[k] for k in ("os", "python")},
        "packages": package_versions(),
        "git": git_revision(),
    }
