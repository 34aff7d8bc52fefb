"""Child-process cells, timing blocks, waiting for an idle CPU, the machine, memory.

Each measurement runs in a fresh child process of its own, one after another, so peak memory is
that cell's own and two frameworks never share the cores' thread pools. A cell is a function
``cell_*(**spec) -> dict`` of one of the benchmark's modules; :func:`run_cell` runs it as
``python -m benchmarks --_cell '{"fn": "module:function", "spec": {...}}'`` and reads back the
JSON line it prints. Around every child the parent records the CPU time other processes used
meanwhile (``others_cpu_share``), from ``/proc/stat`` and the child's own ``wait4`` usage.
"""
from __future__ import annotations

import importlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RESULT = "@@bench-result "


# ----------------------------------------------------------------------------------- memory


def peak_rss_mib() -> float:
    """This process's peak resident set size (``ru_maxrss``), MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark of this process (Linux ``clear_refs``), if allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _vm_hwm_mib() -> float | None:
    """Peak RSS since the last :func:`reset_peak_rss` (``VmHWM``), MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# ----------------------------------------------------------------------------------- timing


def timed_blocks(run_block: Callable[[], Any], budget_s: float, max_repeats: int) -> tuple[float, int]:
    """Best time of up to ``max_repeats`` calls of ``run_block``; stops once ``budget_s`` is spent
    (one call at least). Returns ``(best seconds, calls)``."""
    best, spent, n = math.inf, 0.0, 0
    while n < max_repeats and (n == 0 or spent + best <= budget_s):
        t0 = time.perf_counter()
        run_block()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best, n


def best_time(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Best of ``repeats`` timed calls of ``fn`` after one untimed call."""
    fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def start_jax(cpu_devices: int | None = None) -> None:
    """What ``mcjax sweep`` does first: one JAX CPU device per core (``None``: as the CLI decides;
    ``0``: JAX's single default device). Must run before anything starts JAX."""
    from mcjax.core.sharding import use_cpu_cores

    use_cpu_cores(cpu_devices)


# ------------------------------------------------------------------------------ machine load


def _cpu_jiffies() -> tuple[int, int] | None:
    """``(idle, total)`` jiffies of all CPUs since boot, from /proc/stat (None if unavailable)."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        return vals[3] + vals[4], sum(vals)
    except (OSError, ValueError, IndexError):
        return None


def _cpu_busy(interval: float = 1.0) -> float:
    """Share of all CPUs busy over ``interval`` seconds; -1 if unknown."""
    a = _cpu_jiffies()
    time.sleep(interval)
    b = _cpu_jiffies()
    if a is None or b is None:
        return -1.0
    return 1.0 - (b[0] - a[0]) / max(b[1] - a[1], 1)


def wait_idle(max_wait_s: float, threshold: float = 0.15) -> float:
    """Waits (up to ``max_wait_s``) for the CPUs to be idle; returns the last busy share seen."""
    busy = _cpu_busy()
    t0 = time.monotonic()
    while busy > threshold and time.monotonic() - t0 < max_wait_s:
        time.sleep(4.0)
        busy = _cpu_busy()
    return busy


# ----------------------------------------------------------------------------- child processes


def child_env(**extra: str) -> dict:
    """The environment of a child: this one, the checkout first on ``PYTHONPATH``, plus ``extra``."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def run_process(cmd: list[str], wait_idle_s: float = 0.0, env: dict | None = None) -> dict:
    """Runs ``cmd`` to completion; returns its output, exit code, wall and CPU seconds, peak RSS
    (its own ``wait4`` usage) and the share of the machine's CPU other processes used meanwhile."""
    busy = wait_idle(wait_idle_s)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        cpu0, t0 = _cpu_jiffies(), time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or child_env(), text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall, cpu1 = time.perf_counter() - t0, _cpu_jiffies()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu_s = usage.ru_utime + usage.ru_stime
    others = -1.0
    if cpu0 and cpu1:
        total = max(cpu1[1] - cpu0[1], 1)
        busy_jiffies = total - (cpu1[0] - cpu0[0])
        others = max(0.0, (busy_jiffies - cpu_s * os.sysconf("SC_CLK_TCK")) / total)
    return dict(stdout=stdout, stderr=stderr, returncode=proc.returncode, wall_s=wall,
                process_cpu_s=cpu_s, process_peak_rss_mib=usage.ru_maxrss / 1024.0,
                cpu_busy_before=busy, others_cpu_share=others)


def run_cell(fn: Callable[..., dict], wait_idle_s: float = 0.0, **spec: Any) -> dict:
    """Runs ``fn(**spec)`` in a fresh child process; returns its result dict and the process's."""
    payload = json.dumps(dict(fn=f"{fn.__module__}:{fn.__name__}", spec=spec))
    proc = run_process([sys.executable, "-m", "benchmarks", "--_cell", payload], wait_idle_s)
    lines = [ln for ln in proc["stdout"].splitlines() if ln.startswith(_RESULT)]
    if proc["returncode"] or not lines:
        sys.stderr.write(proc["stdout"] + proc["stderr"])
        raise RuntimeError(f"benchmark cell {payload} failed (exit {proc['returncode']})")
    result = json.loads(lines[-1][len(_RESULT):])
    result.update({k: v for k, v in proc.items() if k not in ("stdout", "stderr", "returncode")})
    return result


def child(payload: str) -> None:
    """The child side of :func:`run_cell`: runs the cell, prints its result as one JSON line."""
    from benchmarks.spec import Size

    call = json.loads(payload)
    module, name = call["fn"].split(":")
    spec = call["spec"]
    if "size" in spec:
        spec["size"] = Size(*spec["size"])
    if "sizes" in spec:
        spec["sizes"] = [Size(*s) for s in spec["sizes"]]
    t_cpu0 = time.process_time()
    result = getattr(importlib.import_module(module), name)(**spec)
    result.update(peak_rss_mib=peak_rss_mib(), timed_peak_rss_mib=_vm_hwm_mib(),
                  cpu_s=time.process_time() - t_cpu0)
    print(_RESULT + json.dumps(result), flush=True)


def cell_idle(framework: str) -> dict:
    """Nothing but importing ``framework`` (``torch`` or ``jax``, with mcjax): the memory floor."""
    if framework == "torch":
        import torch

        torch.ones(4).sum()
    else:
        import jax.numpy as jnp

        import mcjax  # noqa: F401

        jnp.ones(4).sum().block_until_ready()
    return {}


# ----------------------------------------------------------------------------------- machine


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for mod in ("torch", "jax", "jaxlib", "flax", "optax"):
        try:
            versions[mod] = version(mod)
        except PackageNotFoundError:
            versions[mod] = None
    return versions


def machine() -> dict:
    """CPU model and count, Python and library versions, and the mcjax checkout and commit used."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    from importlib.util import find_spec

    spec = find_spec("mcjax")
    where = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else None
    commit = None
    if where:
        git = lambda *a: subprocess.run(["git", "-C", where, *a], capture_output=True,
                                        text=True).stdout.strip()
        commit = git("rev-parse", "--short", "HEAD") or None
        if commit and git("status", "--porcelain", "mcjax"):
            commit += " (mcjax/ modified)"
    return dict(cpu=model, cores=os.cpu_count(), python=platform.python_version(),
                versions=_versions(), mcjax_path=where, mcjax_commit=commit)
