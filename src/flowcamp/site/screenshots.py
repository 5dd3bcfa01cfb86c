"""`flowcamp site screenshots`: a picture of the Prefect web UI for the lessons, taken by the course's own tools.

It starts a throwaway Prefect server (its own folder in a temporary directory, stopped at the end), runs a
small demo flow of three tasks on it, opens that flow run's page in headless Chromium and saves a PNG,
by default ``docs/images/prefect-flow-run.png``. Nothing is downloaded: Prefect serves its web UI from the
installed package, and Chromium is the system's (``/usr/bin/chromium`` on Debian).

Run it again after a Prefect upgrade changes the UI, and commit the new PNG.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

PICTURE = "prefect-flow-run.png"
SIZE = (1280, 800)
MIN_COLOURS = 64  # a page that did not load is one or two flat colours; a run page has hundreds
EXPECT = ("donations-by-day", "Completed")  # on the flow run's page once it has loaded
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# The demo flow: the three steps of the lesson's donations pipeline, on a few made-up rows (no warehouse).
DEMO_FLOW = '''
import time
from prefect import flow, get_run_logger, task


@task
def read_donations() -> list:
    """Extract: a few made-up donations."""
    time.sleep(0.4)
    return [("2024-10-01", 25.0, False), ("2024-10-01", 10.0, True), ("2024-10-02", 50.0, False)]


@task
def daily_totals(donations: list) -> list:
    """Transform: drop refunds, add up each day."""
    time.sleep(0.3)
    totals = {}
    for day, amount, refunded in donations:
        if not refunded:
            totals[day] = totals.get(day, 0) + amount
    return sorted(totals.items())


@task
def save_totals(totals: list) -> None:
    """Load: here, only a log line."""
    time.sleep(0.3)
    get_run_logger().info("Saved %d days of totals", len(totals))


@flow(name="donations-by-day")
def donations_by_day(min_amount: float = 1.0):
    get_run_logger().info("Adding up the donations of each day")
    totals = daily_totals(read_donations())
    save_totals(totals)


if __name__ == "__main__":
    state = donations_by_day(return_state=True)
    print("FLOW_RUN_ID=" + str(state.state_details.flow_run_id), flush=True)
'''


class ScreenshotError(Exception):
    """The picture could not be taken: says why in plain words."""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) to run headless: $FLOWCAMP_CHROMIUM, else the first on PATH."""
    explicit = os.environ.get("FLOWCAMP_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium_command(chromium: str, url: str, out: Path, size: tuple[int, int], profile: Path,
                     wait_ms: int = 15000) -> list[str]:
    """Headless Chromium that loads ``url`` and saves a PNG of the window to ``out``."""
    args = [chromium, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--force-prefers-color-scheme=light", f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}", f"--screenshot={out}", url]
    if os.name == "posix" and os.geteuid() == 0:  # Chromium refuses to run as root inside its sandbox
        args.insert(1, "--no-sandbox")
    return args


def png_colours(path: Path, limit: int = 100_000) -> int:
    """How many distinct colours an 8-bit RGB or RGBA PNG holds (up to ``limit``): a blank page has one or two."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path} has no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    channels = {2: 3, 6: 4}.get(colour_type)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit RGB or RGBA, not interlaced, can be read here")
    raw, stride = zlib.decompress(b"".join(idat)), width * channels
    previous, colours = bytearray(stride), set()
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + stride]), previous, channels)
        colours.update(bytes(row[i:i + 3]) for i in range(0, stride, channels))
        if len(colours) >= limit:
            break
        previous = row
    return len(colours)


def _unfilter(kind: int, row: bytearray, above: bytearray, bpp: int) -> bytearray:
    """Undo one PNG scanline filter (0 none, 1 sub, 2 up, 3 average, 4 Paeth), in place."""
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(row, above))
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        up, corner = above[i], above[i - bpp] if i >= bpp else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
    return row


def _api(url: str, path: str, body: dict) -> list | dict:
    request = urllib.request.Request(f"{url}/api{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def run_demo_flow(url: str, env: dict[str, str], folder: Path, timeout: float = 120.0) -> str:
    """Run the demo flow on the server at ``url``; its flow run id, once the server has its three task runs."""
    from flowcamp import proc

    script = folder / "donations_demo.py"
    script.write_text(DEMO_FLOW, encoding="utf-8")
    done = subprocess.run(proc.python_code("import runpy\nrunpy.run_path(sys.argv[1], run_name='__main__')\n")
                          + [str(script)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    ids = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("FLOW_RUN_ID=")]
    if done.returncode or not ids:
        raise ScreenshotError(f"The demo flow did not run (exit code {done.returncode}):\n{done.stderr[-3000:]}")
    deadline = time.monotonic() + 30  # task runs reach the server as events, a moment after the flow ends
    while time.monotonic() < deadline:
        runs = _api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [ids[0]]}}})
        if len(runs) >= 3 and all((r.get("state") or {}).get("type") == "COMPLETED" for r in runs):
            return ids[0]
        time.sleep(0.5)
    raise ScreenshotError("The server did not record the demo flow's three task runs within 30 s.")


def page_loaded(chromium: str, url: str, size: tuple[int, int], profile: Path, wait_ms: int,
                expect: tuple[str, ...]) -> bool:
    """Does the page at ``url``, once its scripts ran, hold every text in ``expect`` and no connection error?"""
    args = [a for a in chromium_command(chromium, url, Path("unused.png"), size, profile, wait_ms)
            if not a.startswith("--screenshot")]
    dom = subprocess.run([*args[:-1], "--dump-dom", args[-1]], capture_output=True, text=True, timeout=120,
                         check=False).stdout
    return all(text in dom for text in expect) and "connect to Server API" not in dom


def screenshot(chromium: str, url: str, out: Path, size: tuple[int, int], profile: Path,
               expect: tuple[str, ...] = ()) -> int:
    """Save ``url`` as a PNG once the page shows ``expect``; try again with a longer wait while it looks blank or
    unfinished. Returns its number of colours."""
    colours = 0
    for wait_ms in (15000, 30000):
        if expect and not page_loaded(chromium, url, size, profile, wait_ms, expect):
            continue
        out.unlink(missing_ok=True)
        done = subprocess.run(chromium_command(chromium, url, out, size, profile, wait_ms),
                              capture_output=True, text=True, timeout=120, check=False)
        if not out.is_file():
            raise ScreenshotError(f"Chromium saved no picture (exit code {done.returncode}):\n{done.stderr[-2000:]}")
        colours = png_colours(out)
        if colours >= MIN_COLOURS:
            return colours
    raise ScreenshotError(f"The page {url} did not load (its picture has {colours} colours, and it should show "
                          f"{', '.join(expect) or 'something'}).")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def take_prefect_screenshot(out: Path, size: tuple[int, int] = SIZE, chromium: str | None = None) -> Path:
    """Start a throwaway server, run the demo flow, save a picture of its flow run page to ``out``."""
    from flowcamp import server
    from flowcamp.workspace import Workspace

    out, chromium = out.resolve(), chromium or find_chromium()
    if not chromium:
        raise ScreenshotError("No Chromium found. Install it (Debian: apt-get install chromium) or set "
                              "FLOWCAMP_CHROMIUM to its path.")
    with tempfile.TemporaryDirectory(prefix="flowcamp-screenshots-") as tmp:
        ws = Workspace(Path(tmp) / "ws", None)  # type: ignore[arg-type] - the server needs only its folders
        port = _free_port()
        # The web UI asks the server where its API is; without this it answers Prefect's default port, 4200.
        saved, os.environ["PREFECT_UI_API_URL"] = os.environ.get("PREFECT_UI_API_URL"), f"http://127.0.0.1:{port}/api"
        try:
            url = server.start(ws, port=port)
            env = {**os.environ, **server.client_env(ws, url)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            run_id = run_demo_flow(url, env, Path(tmp))
            out.parent.mkdir(parents=True, exist_ok=True)
            screenshot(chromium, f"{url}/runs/flow-run/{run_id}", out, size, Path(tmp) / "chromium",
                       expect=EXPECT)
        finally:
            server.stop_everything(ws)
            if saved is None:
                os.environ.pop("PREFECT_UI_API_URL", None)
            else:
                os.environ["PREFECT_UI_API_URL"] = saved
    return out
