"""Production serving: gunicorn (sync, gthread) against granian (WSGI, ASGI), same worker count.

    uv run python bench/serving.py [--workers 2] [--seconds 10] [--connections 16] [--rounds 3]
                                   [--only "gunicorn sync,granian wsgi"]

Starts each server in turn on a free local port with production settings (DJANGO_ENV=production,
DEBUG off, WhiteNoise, the manifest storage, access logs off, LOG_LEVEL=WARNING) against
DATABASE_URL / REDIS_URL, and loads two pages with `wrk` (Debian's package: `apt-get install wrk`),
each request sent as the reverse proxy sends it (X-Forwarded-Proto: https):

- ``tenant``: a light tenant page, the sign-in page of the tenant ``bench-serving`` (routing through
  the host cache, a session-less template render with a CSRF token);
- ``health``: the root domain's ``/-/health/`` (a query and a cache round trip).

The servers run in rounds (each server once per round, in turn), so a burst of load from
something else on the machine falls on every server rather than on one; the median round is
reported. Prints requests per second and p50/p99 latency per server and page, and each server's
requests per second as a ratio of gunicorn sync's. The tenant ``bench-serving`` is provisioned on
the first run and kept. Measures and prints; never passes or fails on a number.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench-serving"
BASE_DOMAIN = "localhost"


def servers(workers: int, threads: int) -> dict[str, list[str]]:
    """The command line of each contender, ``{port}`` to be filled in."""
    venv = Path(sys.executable).parent
    return {
        "gunicorn sync": [
            str(venv / "gunicorn"), "config.wsgi:application", "--bind", "127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "sync",
        ],
        "gunicorn gthread": [
            str(venv / "gunicorn"), "config.wsgi:application", "--bind", "127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        ],
        "granian wsgi": [
            str(venv / "granian"), "--interface", "wsgi", "config.wsgi:application", "--host", "127.0.0.1",
            "--port", "{port}", "--workers", str(workers), "--blocking-threads", str(threads),
            "--no-access-log",
        ],
        "granian asgi": [
            str(venv / "granian"), "--interface", "asgi", "config.asgi:application", "--host", "127.0.0.1",
            "--port", "{port}", "--workers", str(workers), "--no-access-log",
        ],
    }  # fmt: skip


def production_env() -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "bench-serving-not-a-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": f"{BASE_DOMAIN},.{BASE_DOMAIN}",
        "BASE_DOMAIN": BASE_DOMAIN,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("EMAIL_PROVIDER", None)
    return env


def ensure_tenant() -> str:
    """The bench tenant's host, provisioned through the service on the first run."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from tenants.models import Tenant
    from tenants.services import provision_tenant

    tenant = (
        Tenant.objects.filter(schema_name=SLUG.replace("-", "_")).first()
        or Tenant.objects.filter(domains__domain=f"{SLUG}.{BASE_DOMAIN}").first()
    )
    if tenant is None:
        tenant = provision_tenant(SLUG, "Bench serving", f"owner@{SLUG}.example.com")
    return f"{SLUG}.{BASE_DOMAIN}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/-/health/", headers={"Host": BASE_DOMAIN, "X-Forwarded-Proto": "https"}
    )
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /-/health/ in time")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, host: str, path: str, seconds: int, connections: int) -> dict:
    return run_wrk(
        ["--header", f"Host: {host}", "--header", "X-Forwarded-Proto: https"],
        port,
        path,
        seconds,
        connections,
    )


def run_wrk(options: list[str], port: int, path: str, seconds: int, connections: int, env=None) -> dict:
    """``wrk`` (1 thread) with ``options`` against 127.0.0.1:port/path: requests per second, p50
    and p99 in seconds, and the count of answers that were neither 2xx nor 3xx. bench/scale.py
    runs it with a Lua script of its own."""
    command = [
        "wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds}s", "--latency",
        *options, f"http://127.0.0.1:{port}{path}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    latency = {
        pct: float(value) * _UNITS[unit]
        for pct, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency["50"],
        "p99": latency["99"],
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def run_server(name: str, command: list[str], pages: dict, args) -> dict:
    port = free_port()
    env = production_env()
    if "asgi" in name:
        # Django's documentation: persistent connections do not suit ASGI (a thread per request).
        env["DB_CONN_MAX_AGE"] = "0"
    process = subprocess.Popen(
        [word.format(port=port) for word in command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_ready(port, process)
        results = {}
        for page, (host, path) in pages.items():
            wrk(port, host, path, 2, args.connections)  # warm-up: imports, connections, caches
            results[page] = wrk(port, host, path, args.seconds, args.connections)
        return results
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="processes per server (this machine: 2 cores)")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker of gunicorn gthread and granian wsgi"
    )
    parser.add_argument("--seconds", type=int, default=10, help="load per page and server, per round")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections of wrk")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated server names, e.g. 'gunicorn sync'")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    tenant_host = ensure_tenant()
    pages = {"tenant": (tenant_host, "/accounts/sign-in/"), "health": (BASE_DOMAIN, "/-/health/")}
    contenders = servers(args.workers, args.threads)
    if args.only:
        contenders = {name: contenders[name] for name in args.only.split(",")}
    rounds: dict[str, list[dict]] = {name: [] for name in contenders}
    for number in range(1, args.rounds + 1):
        for name, command in contenders.items():
            sys.stderr.write(f"round {number}/{args.rounds}: {name}\n")
            rounds[name].append(run_server(name, command, pages, args))

    print(
        f"{args.workers} workers per server, wrk 1 thread x {args.connections} connections, "
        f"{args.seconds} s per page, median of {args.rounds} rounds"
    )
    print(f"{'server':<18}{'page':<8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs sync':>9}{'non-2xx':>9}")
    baseline = {}
    for name in contenders:
        for page in pages:
            runs = sorted(rounds[name], key=lambda run: run[page]["rps"])
            median = runs[len(runs) // 2][page]
            baseline.setdefault(page, median["rps"])
            ratio = median["rps"] / baseline[page]
            errors = sum(run[page]["errors"] for run in rounds[name])
            print(
                f"{name:<18}{page:<8}{median['rps']:>9.0f}{median['p50']:>9.1f}{median['p99']:>9.1f}"
                f"{ratio:>8.2f}x{errors:>9}"
            )


if __name__ == "__main__":
    main()
