"""How long does it take to build the sample warehouse?

    uv run python benchmarks/bench_warehouse.py              # scale 1 and 100
    uv run python benchmarks/bench_warehouse.py --scales 1 --runs 3

Builds each scale several times into a temporary folder, prints the median
times and writes a markdown table to docs/benchmarks/warehouse.md (unless
--no-write). Targets: scale 1 in 2 s or less, scale 100 (a million voter
records) in 10 s or less.

"CPU" is the processor time of this process, all DuckDB threads together.
"Busiest thread" is the CPU time of the thread that worked longest (Linux
only): with the machine to itself, a build cannot finish faster than that, and
with every core free it finishes about then. On a machine busy with other work
the wall-clock time grows, but these two barely move, so together they show
whether a slow run was the generator or the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from flowcamp import warehouse

TARGETS = {1.0: 2.0, 100.0: 10.0}
DEFAULT_RUNS = {1.0: 5, 100.0: 3}
OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "warehouse.md"


def busy() -> float | None:
    """Share of the machine used by other work over a short moment (Linux only)."""
    try:
        def snap():
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
            return sum(fields), fields[3] + fields[4]  # total, idle + iowait
        t0, i0 = snap()
        time.sleep(0.5)
        t1, i1 = snap()
        return 1 - (i1 - i0) / max(1, t1 - t0)
    except (OSError, ValueError, IndexError):
        return None


class ThreadClock:
    """Samples the CPU time of each thread of this process while a build runs."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.supported = Path("/proc/self/task").is_dir()

    @staticmethod
    def _read() -> dict[str, float]:
        out, tick = {}, os.sysconf("SC_CLK_TCK")
        for tid in os.listdir("/proc/self/task"):
            try:
                f = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[tid] = (int(f[11]) + int(f[12])) / tick
        return out

    def _sample(self) -> None:
        for tid, cpu in self._read().items():
            self.first.setdefault(tid, cpu)
            self.last[tid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self):
        if self.supported:
            self._sample()
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.supported:
            self._stop.set()
            self._thread.join()
            self._sample()

    def busiest(self) -> float | None:
        if not self.supported:
            return None
        sampler = str(self._thread.native_id)
        return max((self.last[t] - self.first[t] for t in self.last if t != sampler), default=0.0)


def bench(scale: float, runs: int, folder: Path) -> dict:
    walls, cpus, busiest = [], [], []
    path = folder / f"bench-{scale:g}.duckdb"
    for i in range(runs):
        if path.exists():
            path.unlink()
        with ThreadClock() as clock:
            c0, t0 = time.process_time(), time.perf_counter()
            warehouse.build(path, seed=warehouse.LEARNER_SEED, scale=scale)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        if clock.busiest() is not None:
            busiest.append(clock.busiest())
        extra = f", busiest thread {busiest[-1]:.2f} s" if busiest else ""
        print(f"  scale {scale:g} run {i + 1}/{runs}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU{extra}",
              flush=True)
    counts = warehouse.table_counts(path)
    return {
        "scale": scale,
        "people": counts["voterfile.people"],
        "rows": sum(counts.values()),
        "mb": path.stat().st_size / 1e6,
        "median": statistics.median(walls),
        "best": min(walls),
        "cpu": statistics.median(cpus),
        "busiest": statistics.median(busiest) if busiest else None,
        "target": TARGETS.get(scale),
        "counts": counts,
    }


def markdown(results: list[dict], load_before: float | None) -> str:
    lines = [
        "# Warehouse build times",
        "",
        "Written by `uv run python benchmarks/bench_warehouse.py`; do not edit by hand.",
        "",
        "| scale | people | rows | size | wall: median (best) | CPU | busiest thread | target: met |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        target = f"{r['target']:g} s" if r["target"] else ""
        met = "" if not r["target"] else ("yes" if r["median"] <= r["target"] else "no")
        lines.append(
            f"| {r['scale']:g} | {r['people']:,} | {r['rows']:,} | {r['mb']:.1f} MB | "
            f"{r['median']:.2f} s ({r['best']:.2f}) | {r['cpu']:.2f} s | "
            f"{'' if r['busiest'] is None else format(r['busiest'], '.2f') + ' s'} | {target}{': ' + met if met else ''} |")
    lines += [
        "",
        (f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
         f"DuckDB {duckdb.__version__}, schema version {warehouse.SCHEMA_VERSION}."),
    ]
    if load_before is not None:
        lines.append(f"Other work used {load_before:.0%} of the processors just before the run.")
    lines += [
        "",
        "*People* are the voter records; *rows* count every table; *wall* is the wall-clock time,",
        "median and best. The target is met when the median is within it. *CPU* is the median processor",
        "time of all threads together; *busiest thread* is the CPU time of the thread that",
        "worked longest, about what the wall-clock time would be with the machine to itself.",
    ]
    lines += ["", "Row counts at each scale:", "", "| table | " + " | ".join(f"scale {r['scale']:g}" for r in results) + " |",
              "|---|" + "---:|" * len(results)]
    for table in results[0]["counts"]:
        lines.append(f"| `{table}` | " + " | ".join(f"{r['counts'][table]:,}" for r in results) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 100.0])
    parser.add_argument("--runs", type=int, help="runs per scale (default: 5 at scale 1, 3 at scale 100)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {OUT.name}")
    args = parser.parse_args(argv)

    load_before = busy()
    if load_before is not None:
        print(f"other work is using {load_before:.0%} of the processors")
    results = []
    with tempfile.TemporaryDirectory(prefix="flowcamp-bench-") as tmp:
        for scale in args.scales:
            runs = args.runs or DEFAULT_RUNS.get(scale, 3)
            results.append(bench(scale, runs, Path(tmp)))

    print()
    print(f"{'scale':>6} {'people':>10} {'rows':>11} {'median':>8} {'best':>8} {'CPU':>8} {'busiest':>8}  target")
    failed = False
    for r in results:
        verdict = ""
        if r["target"]:
            ok = r["median"] <= r["target"]
            failed |= not ok
            verdict = f"<= {r['target']:g} s: {'ok' if ok else 'MISSED'}"
        busiest = "" if r["busiest"] is None else f"{r['busiest']:.2f}s"
        print(f"{r['scale']:>6g} {r['people']:>10,} {r['rows']:>11,} {r['median']:>7.2f}s {r['best']:>7.2f}s "
              f"{r['cpu']:>7.2f}s {busiest:>8}  {verdict}")
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(markdown(results, load_before))
        print(f"\nwrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
