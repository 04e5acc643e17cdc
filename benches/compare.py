#!/usr/bin/env python3
"""cloudkeys side by side with the CLIs a user would pick instead, on this machine.

    python3 benches/compare.py [--runs 20] [--startup-runs 50] [--out target/bench-report.md]

In one run, against local endpoints only (127.0.0.1):
  * start-up: `cloudkeys --version`, `aws --version`, `tccli --version`;
  * listing keys against moto (tests/moto/start_moto.py, SigV4 checked):
    `aws iam list-access-keys` against `cloudkeys list`;
  * listing keys against the cloudkeys sandbox's Tencent emulator (`cloudkeys sandbox`):
    `tccli cam ListAccessKeys` against `cloudkeys list`;
    and, as a second AWS data point, `aws iam list-access-keys` against the sandbox's AWS emulator;
  * scale: `cloudkeys list --all-users` over 5,000 users x 2 keys (examples/bigsandbox.rs):
    wall time and peak memory (max RSS, via GNU time when installed), for -o json and -o ndjson;
  * the size of the stripped release binary;
  * the micro-benchmarks of the signers and parsers (`cargo bench`, divan), unless --no-micro.
Each comparison reports the median of N runs and the ratio of the medians.

It installs what it needs itself: `cargo build --release` (binary and the bigsandbox example),
and three Python venvs under target/bench-venv/ (moto at the pin of tests/requirements.txt,
awscli and tccli from PyPI), so it runs on a fresh machine with Rust and Python >= 3.11 (with
its venv module: on Debian's own Python, `apt-get install python3-venv`).
hyperfine is used for the timings when it is on PATH (Debian: `apt-get install hyperfine`);
otherwise each run is timed here with time.perf_counter around fork/exec/wait.

Exit status: 0 when every command ran and answered as expected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "target"
CLOUDKEYS = TARGET / "release" / "cloudkeys"
BIGSANDBOX = TARGET / "release" / "examples" / "bigsandbox"
HYPERFINE = shutil.which("hyperfine")


def log(message: str) -> None:
    print(f"[compare] {message}", file=sys.stderr, flush=True)


def fail(message: str) -> None:
    log(f"FAILED: {message}")
    sys.exit(1)


def run_checked(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        fail(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return result


# --- set-up -------------------------------------------------------------------------------


def build() -> None:
    log("cargo build --release (cloudkeys and examples/bigsandbox)")
    for extra in ([], ["--example", "bigsandbox"]):
        result = subprocess.run(["cargo", "build", "--release", *extra], cwd=ROOT)
        if result.returncode != 0:
            fail("cargo build --release failed")


def venv(name: str, requirement: str, probe: str) -> Path:
    """A venv under target/bench-venv/NAME with `requirement` installed; returns its bin/."""
    home = TARGET / "bench-venv" / name
    bin_dir = home / "bin"
    if not (bin_dir / probe).exists():
        log(f"installing {requirement} into {home}")
        run_checked([sys.executable, "-m", "venv", str(home)])
        run_checked(
            [str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
             "--disable-pip-version-check", requirement]
        )
    return bin_dir


def moto_requirement() -> str:
    for line in (ROOT / "tests" / "requirements.txt").read_text().splitlines():
        if line.startswith("moto"):
            return line.strip()
    return "moto[server]"


def pip_version(bin_dir: Path, package: str) -> str:
    result = run_checked([str(bin_dir / "python"), "-m", "pip", "show", package])
    for line in result.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return "?"


class Background:
    """A server started for the run; stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, argv: list[str], **kwargs):
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, **kwargs,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def read_until(stream, predicate, what: str, timeout: float = 180) -> str:
    """Lines from a pipe until `predicate(line)`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    text = ""
    os.set_blocking(stream.fileno(), True)
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            fail(f"{what} ended before it was ready:\n{text[-2000:]}")
        text += line
        if predicate(line):
            return text
    fail(f"{what} not ready after {timeout} s")
    return text


def start_moto(moto_bin: Path) -> tuple[Background, dict]:
    log("starting moto with SigV4 enforced (tests/moto/start_moto.py)")
    server = Background(
        [str(moto_bin / "python"), str(ROOT / "tests" / "moto" / "start_moto.py"), "--port", "0"]
    )
    line = read_until(server.process.stdout, lambda l: l.startswith("{"), "moto")
    return server, json.loads(line.strip().splitlines()[-1])


def start_sandbox() -> tuple[Background, str]:
    log("starting `cloudkeys sandbox --port 0`")
    server = Background([str(CLOUDKEYS), "sandbox", "--port", "0"])
    read_until(server.process.stderr, lambda l: "sandbox serving on" in l, "cloudkeys sandbox")
    # The config is printed (and flushed) before the note on stderr.
    os.set_blocking(server.process.stdout.fileno(), False)
    config = server.process.stdout.read() or ""
    return server, config


def start_bigsandbox(users: int) -> tuple[Background, str]:
    log(f"starting examples/bigsandbox with {users} users x 2 keys")
    server = Background([str(BIGSANDBOX), "--port", "0", "--users", str(users)])
    config = read_until(server.process.stdout, lambda l: l.strip() == "# ready", "bigsandbox")
    return server, config


# --- timing -------------------------------------------------------------------------------


def time_runs(argv: list[str], env: dict, runs: int, warmup: int = 2) -> list[float]:
    """Wall-clock seconds of `runs` runs (after `warmup` unrecorded ones); output discarded."""
    if HYPERFINE:
        with tempfile.NamedTemporaryFile(suffix=".json") as export:
            command = " ".join(shell_quote(a) for a in argv)
            result = subprocess.run(
                [HYPERFINE, "--style", "none", "-N", "--warmup", str(warmup), "--runs", str(runs),
                 "--export-json", export.name, command],
                env=env, capture_output=True, text=True,
            )
            if result.returncode != 0:
                fail(f"hyperfine on {command}: {result.stderr[-2000:]}")
            return json.loads(Path(export.name).read_text())["results"][0]["times"]
    for _ in range(warmup):
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            fail(f"{' '.join(argv)} exited {result.returncode} while timed")
    return times


def shell_quote(arg: str) -> str:
    return arg if re.fullmatch(r"[A-Za-z0-9_./:=@+-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None

# Linux keeps the high-water RSS of a process across exec, so a command forked straight from
# this (large) Python process would report this process's RSS as its peak. The command is
# therefore forked from a small process: GNU time when installed, else this trampoline
# (a fresh interpreter: its own few MB are then the floor of what can be measured).
TRAMPOLINE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nmaxrss-kib %d cpu-s %.3f\\n" % (usage.ru_maxrss, usage.ru_utime + usage.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(argv: list[str], env: dict) -> tuple[float, int, float, str]:
    """One run: (wall seconds, max RSS in KiB, CPU seconds (user + system), stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        if GNU_TIME:
            launcher = [GNU_TIME, "-o", rss_file.name, "-f", "%M %U %S"]
        else:
            launcher = [sys.executable, "-S", "-c", TRAMPOLINE]
        start = time.perf_counter()
        result = subprocess.run([*launcher, *argv], env=env, stdout=out, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        stderr = result.stderr.decode(errors="replace")
        if result.returncode != 0:
            fail(f"{' '.join(argv)} exited {result.returncode}: {stderr[-2000:]}")
        if GNU_TIME:
            fields = rss_file.read().split()[-3:]
            max_rss, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
        else:
            found = re.findall(r"maxrss-kib (\d+) cpu-s ([0-9.]+)", stderr)[-1]
            max_rss, cpu = int(found[0]), float(found[1])
        out.seek(0)
        return wall, max_rss, cpu, out.read().decode()


def check(argv: list[str], env: dict, expect: str) -> str:
    """Runs a command once, not timed, and checks that its output contains `expect`."""
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0 or expect not in result.stdout:
        fail(f"{' '.join(argv)} (exit {result.returncode}) did not answer as expected:\n"
             f"{result.stdout[-1000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.add("| " + " | ".join(header) + " |")
        self.add("|" + " --- |" * len(header))
        for row in rows:
            self.add("| " + " | ".join(row) + " |")
        self.add()


def display(argv: list[str]) -> str:
    """A command as the report shows it: paths shortened, secrets elided."""
    shown = []
    hide = False
    for arg in argv:
        if hide:
            shown.append("$SECRET")
            hide = False
            continue
        if arg in ("--secretKey", "--secretId"):
            hide = True
        arg = arg.replace(str(CLOUDKEYS), "target/release/cloudkeys")
        arg = re.sub(r".*/bench-venv/[a-z]+/bin/", "", arg)
        arg = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:$PORT", arg)
        arg = re.sub(r"/tmp[^ ]*/(\w+\.toml)", r"\1", arg)
        shown.append(arg)
    return "`" + " ".join(shown) + "`"


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each list command")
    parser.add_argument("--startup-runs", type=int, default=50, help="timed runs of each --version")
    parser.add_argument("--scale-runs", type=int, default=3, help="runs of each scale command")
    parser.add_argument("--users", type=int, default=5000, help="users of the scale account (x2 keys)")
    parser.add_argument("--skip-build", action="store_true", help="use the release build as it is")
    parser.add_argument("--no-micro", action="store_true",
                        help="skip the micro-benchmarks (cargo bench --bench signers --bench parsers)")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args()

    if sys.version_info < (3, 11):
        fail("needs Python >= 3.11 (tomllib; moto's start script)")
    micro = ""
    if not args.no_micro:
        log("cargo bench --bench signers --bench parsers")
        micro = run_checked(["cargo", "bench", "--bench", "signers", "--bench", "parsers"],
                            cwd=ROOT).stdout
    # `cargo bench` leaves a target/release/cloudkeys built with the dev-dependencies' features
    # (larger); `cargo build --release` puts the plain one back.
    if not args.skip_build or micro:
        build()
    for binary in (CLOUDKEYS, BIGSANDBOX):
        if not binary.exists():
            fail(f"{binary} is missing (run without --skip-build)")
    moto_bin = venv("moto", moto_requirement(), "moto_server")
    aws_bin = venv("awscli", "awscli", "aws")
    tccli_bin = venv("tccli", "tccli", "tccli")

    work = Path(tempfile.mkdtemp(prefix="cloudkeys-bench-"))
    home = work / "home"
    home.mkdir()
    # Clean environments: no real credentials or config files reach any of the tools.
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    servers: list[Background] = []
    report = Report()
    try:
        load_before = os.getloadavg()
        moto, moto_info = start_moto(moto_bin)
        servers.append(moto)
        sandbox, sandbox_config = start_sandbox()
        servers.append(sandbox)

        sandbox_profiles = tomllib.loads(sandbox_config)["profiles"]
        sandbox_file = work / "sandbox.toml"
        sandbox_file.write_text(sandbox_config)
        moto_file = work / "moto.toml"
        moto_file.write_text(
            "[profiles.moto-admin]\nprovider = \"aws\"\n"
            f"access_key_id = \"{moto_info['admin']['access_key_id']}\"\n"
            f"secret_access_key = \"{moto_info['admin']['secret_access_key']}\"\n"
            f"region = \"us-east-1\"\nendpoint = \"{moto_info['endpoint']}\"\n"
        )
        for f in (sandbox_file, moto_file):
            f.chmod(0o600)

        ck_env = dict(base_env, CLOUDKEYS_CONFIG=str(sandbox_file))

        def aws_env(key_id: str, secret: str) -> dict:
            return dict(
                base_env, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
                AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(work / "none"),
                AWS_SHARED_CREDENTIALS_FILE=str(work / "none"), AWS_PAGER="",
                AWS_EC2_METADATA_DISABLED="true",
            )

        moto_admin = moto_info["admin"]
        env_aws_moto = aws_env(moto_admin["access_key_id"], moto_admin["secret_access_key"])
        sandbox_aws = sandbox_profiles["aws-admin"]
        env_aws_sandbox = aws_env(sandbox_aws["access_key_id"], sandbox_aws["secret_access_key"])
        tencent = sandbox_profiles["tencent-admin"]

        aws = str(aws_bin / "aws")
        tccli = str(tccli_bin / "tccli")
        ck = str(CLOUDKEYS)

        # Each command once, its answer checked, before anything is timed.
        log("checking that every command answers")
        check([aws, "iam", "list-access-keys", "--endpoint-url", moto_info["endpoint"]],
              env_aws_moto, "AccessKeyMetadata")
        check([ck, "--config", str(moto_file), "list", "--no-last-used", "-o", "json"],
              base_env, moto_admin["access_key_id"])
        check([aws, "iam", "list-access-keys", "--endpoint-url", sandbox_aws["endpoint"]],
              env_aws_sandbox, sandbox_aws["access_key_id"])
        tccli_list = [tccli, "cam", "ListAccessKeys", "--secretId", tencent["access_key_id"],
                      "--secretKey", tencent["secret_access_key"], "--region", tencent["region"],
                      "--endpoint", tencent["endpoint"]]
        check(tccli_list, base_env, tencent["access_key_id"])
        check([ck, "-p", "tencent-admin", "list", "--no-last-used", "-o", "json"],
              ck_env, tencent["access_key_id"])

        versions = {
            "cloudkeys": run_checked([ck, "--version"]).stdout.strip(),
            "aws": " ".join(run_checked([aws, "--version"], env=base_env).stdout.split()[:2]),
            "tccli": run_checked([tccli, "--version"], env=base_env).stdout.strip(),
            "moto": pip_version(moto_bin, "moto"),
            "tencentcloud-sdk-python": pip_version(tccli_bin, "tencentcloud-sdk-python"),
        }

        report.add("### Machine and versions")
        report.add()
        cpu = "?"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        report.add(f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.platform()}")
        report.add(f"- {os.cpu_count()} CPUs ({cpu}); load average at start "
                   f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1/5/15 min)")
        report.add(f"- timer: {'hyperfine ' + HYPERFINE if HYPERFINE else 'time.perf_counter around fork/exec/wait (no hyperfine)'}")
        for name, version in versions.items():
            report.add(f"- {name}: {version}")
        report.add()

        # Start-up.
        log("timing start-up (--version)")
        baseline = statistics.median(time_runs(["/bin/true"], base_env, args.startup_runs))
        rows = []
        startup = {}
        for name, argv in (("cloudkeys", [ck, "--version"]), ("aws", [aws, "--version"]),
                           ("tccli", [tccli, "--version"])):
            runs = args.startup_runs if name == "cloudkeys" else max(5, args.startup_runs // 5)
            median = statistics.median(time_runs(argv, base_env, runs))
            startup[name] = median
            rows.append([display(argv), str(runs), ms(median), ms(max(0.0, median - baseline))])
        rows.append(["`/bin/true` (the timer's own cost)", str(args.startup_runs), ms(baseline), "-"])
        report.add("### Start-up")
        report.add()
        report.table(["command", "runs", "median", "median - /bin/true"], rows)
        report.add(f"aws is {startup['aws'] / startup['cloudkeys']:.0f}x and tccli "
                   f"{startup['tccli'] / startup['cloudkeys']:.0f}x the start-up time of cloudkeys.")
        report.add()

        # Listing keys against the same endpoint.
        log(f"timing list commands ({args.runs} runs each)")
        comparisons = [
            ("moto (AWS IAM, Python)", aws, [aws, "iam", "list-access-keys", "--endpoint-url",
                                             moto_info["endpoint"]], env_aws_moto,
             [ck, "--config", str(moto_file)], base_env),
            ("cloudkeys sandbox, Tencent CAM emulator", tccli, tccli_list, base_env,
             [ck, "-p", "tencent-admin"], ck_env),
            ("cloudkeys sandbox, AWS IAM emulator", aws, [aws, "iam", "list-access-keys",
                                                         "--endpoint-url", sandbox_aws["endpoint"]],
             env_aws_sandbox, [ck, "-p", "aws-admin"], ck_env),
        ]
        report.add("### `list` against the same local endpoint")
        report.add()
        report.add(f"Median of {args.runs} runs each (after 2 warm-up runs). "
                   "`--no-last-used` asks for what the other CLI shows (the caller's keys; "
                   "cloudkeys also asks who the caller is, one more call); plain `list` also "
                   "fetches each key's last use (one more call per key).")
        report.add()
        rows = []
        for endpoint, _, other, other_env, ck_prefix, env in comparisons:
            other_median = statistics.median(time_runs(other, other_env, args.runs))
            same = statistics.median(time_runs([*ck_prefix, "list", "--no-last-used", "-o", "json"],
                                               env, args.runs))
            full = statistics.median(time_runs([*ck_prefix, "list", "-o", "json"], env, args.runs))
            rows.append([endpoint, display(other), ms(other_median), ""])
            rows.append(["", display([*ck_prefix, "list", "--no-last-used", "-o", "json"]),
                         ms(same), f"**{other_median / same:.1f}x**"])
            rows.append(["", display([*ck_prefix, "list", "-o", "json"]), ms(full),
                         f"{other_median / full:.1f}x"])
        report.table(["endpoint", "command", "median", "official CLI's median / this"], rows)

        # Scale.
        big, big_config = start_bigsandbox(args.users)
        servers.append(big)
        big_file = work / "big.toml"
        big_file.write_text(big_config)
        big_file.chmod(0o600)
        log(f"scale: list --all-users over {args.users * 2} keys ({args.scale_runs} runs each)")
        rows = []
        for fmt, extra in (("json", []), ("ndjson", []), ("json", ["--no-last-used"])):
            argv = [ck, "--config", str(big_file), "-p", "aws-admin", "list", "--all-users",
                    *extra, "-o", fmt]
            walls, rss, cpus = [], [], []
            for _ in range(args.scale_runs):
                wall, max_rss, cpu, out = measure(argv, base_env)
                walls.append(wall)
                rss.append(max_rss)
                cpus.append(cpu)
                count = len(json.loads(out)) if fmt == "json" else len(out.splitlines())
                if count != args.users * 2:
                    fail(f"{' '.join(argv)} printed {count} records, expected {args.users * 2}")
            rows.append([display(argv), ms(statistics.median(walls)),
                         f"{statistics.median(cpus):.2f} s", f"{max(rss) / 1024:.1f} MiB",
                         str(count)])
        report.add(f"### Scale: `list --all-users`, {args.users} users x 2 keys in one account")
        report.add()
        how = ("GNU time's %M" if GNU_TIME
               else "wait4 in a fresh Python that forks the command (its own RSS is the floor)")
        report.add(f"examples/bigsandbox.rs serves the account; {args.scale_runs} runs each; "
                   f"wall time is the median, peak memory the largest max RSS ({how}) of the runs; "
                   "CPU is cloudkeys' own user + system time (the sandbox serving it runs on the "
                   "same 2 CPUs).")
        report.add()
        report.table(["command", "wall (median)", "cloudkeys CPU (median)", "peak RSS", "records"], rows)

        if micro:
            report.add("### Micro-benchmarks (divan)")
            report.add()
            report.add("```")
            for line in micro.splitlines():
                if line.strip():
                    report.add(line)
            report.add("```")
            report.add()

        size = CLOUDKEYS.stat().st_size
        report.add("### Binary")
        report.add()
        report.add(f"target/release/cloudkeys (stripped): {size:,} bytes = {size / 2**20:.2f} MiB")
        report.add()
        load_after = os.getloadavg()
        report.add(f"Load average at the end: {load_after[0]:.2f} / {load_after[1]:.2f} / "
                   f"{load_after[2]:.2f}.")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(report.lines) + "\n")
        log(f"report written to {args.out}")


if __name__ == "__main__":
    main()
