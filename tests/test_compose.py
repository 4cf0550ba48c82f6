"""The containerised platform (compose.yaml, platform/), checked without a Docker engine.

compose.yaml is validated against the Compose Specification's JSON schema, which check-jsonschema
vendors, and every command the containers run is traced to something the project has: a dispatch
word of platform/entrypoint.sh, the WSGI application, the Celery app, a management command, a
file the Dockerfile copies from the repository.
"""

import copy
import importlib
import importlib.resources
import json
import re
import shlex
import subprocess
import tomllib
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from celery.bin.celery import celery as celery_cli
from django.conf import settings
from django.core.management import get_commands
from django.urls import resolve
from packaging.specifiers import SpecifierSet
from packaging.utils import parse_wheel_filename

from tenants import pool

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "platform" / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"
LOCKFILE = ROOT / "uv.lock"
PYTHON_PIN = ROOT / ".python-version"
ENTRYPOINT = ROOT / "platform" / "entrypoint.sh"
WORKER_SERVICES = ("worker-email", "worker-default", "worker-bulk")
APP_SERVICES = ("migrate", "web", *WORKER_SERVICES, "beat")


def load_compose() -> dict:
    # safe_load resolves the `<<: *app` merge keys, as Compose does before validating.
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_schema_errors(document: dict) -> list[str]:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    errors = validator.iter_errors(document)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors]


def as_words(command) -> list[str]:
    """A Compose command (string or list) as its words."""
    return shlex.split(command) if isinstance(command, str) else list(command)


def entrypoint_branches() -> dict[str, str]:
    """The dispatch words of entrypoint.sh's `case` and the text each one runs, `*` left out."""
    text = ENTRYPOINT.read_text()
    branches = {}
    for words, body in re.findall(r"^\s*([\w|-]+)\)(.*?);;", text, re.MULTILINE | re.DOTALL):
        for word in words.split("|"):
            branches[word] = body
    return branches


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in filter(str.strip, joined.splitlines()):
        keyword, arguments = line.strip().split(maxsplit=1)
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_copies_from_context() -> list[tuple[str, PurePosixPath]]:
    """(repository path, container path) of every COPY that reads the build context."""
    copies = []
    workdir = PurePosixPath("/")
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            workdir = PurePosixPath("/")
        if keyword == "WORKDIR":
            workdir = workdir / arguments
        if keyword != "COPY":
            continue
        words = shlex.split(arguments)
        if any(word.startswith("--from=") for word in words):
            continue
        *sources, destination = [word for word in words if not word.startswith("--")]
        for source in sources:
            target = workdir / destination
            if destination.endswith("/") or len(sources) > 1:
                target = target / PurePosixPath(source).name
            copies.append((source, target))
    return copies


def repository_file_for(container_path: str) -> Path | None:
    """The repository file or folder that the image holds at ``container_path``, if any."""
    wanted = PurePosixPath(container_path)
    for source, target in dockerfile_copies_from_context():
        if wanted == target or target in wanted.parents:
            return ROOT / source / wanted.relative_to(target)
    return None


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the Dockerfile's last stage: the image every container runs."""
    instructions = dockerfile_instructions()
    start = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def last_instruction(keyword: str) -> str:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword][-1]


def text_of_container_files() -> str:
    return "\n".join(path.read_text() for path in (COMPOSE_FILE, DOCKERFILE, ENTRYPOINT))


# --- compose.yaml ---------------------------------------------------------------------------------


def test_compose_file_matches_the_compose_specification():
    assert compose_schema_errors(load_compose()) == []


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda doc: doc["services"]["web"].update(ports="not-a-list"), id="ports-not-a-list"),
        pytest.param(lambda doc: doc.update(servics={}), id="unknown-top-level-key"),
        pytest.param(
            lambda doc: doc["services"]["web"]["depends_on"]["postgres"].update(condition="when_ready"),
            id="unknown-depends-on-condition",
        ),
    ],
)
def test_a_broken_compose_file_fails_the_specification(break_it):
    broken = copy.deepcopy(load_compose())
    break_it(broken)
    assert compose_schema_errors(broken) != []


def test_every_service_waited_on_as_healthy_has_a_healthcheck():
    services = load_compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s healthcheck"


def test_compose_file_leaves_shell_variables_to_the_containers():
    # Compose substitutes $NAME from the host's environment before any container starts; a
    # variable meant for the container's shell (the worker's $HOSTNAME) must be written $$NAME.
    unescaped = re.findall(r"\$\{?\w+", COMPOSE_FILE.read_text().replace("$$", ""))
    assert unescaped == [], f"interpolated by Compose on the host: {unescaped}"


def test_app_services_share_one_image_and_one_environment():
    services = load_compose()["services"]
    web = services["web"]
    assert web["build"]["dockerfile"] == "platform/Dockerfile"
    assert (ROOT / web["build"]["context"] / web["build"]["dockerfile"]).is_file()
    for name in APP_SERVICES:
        assert services[name]["build"] == web["build"]
        assert services[name]["image"] == web["image"]
        assert services[name]["environment"] == web["environment"]


def test_app_services_reach_their_backing_services_by_compose_service_name():
    compose = load_compose()
    environment = compose["services"]["web"]["environment"]
    for variable in ("DATABASE_URL", "REDIS_URL"):
        assert urlsplit(environment[variable]).hostname in compose["services"], variable
    assert environment["EMAIL_HOST"] in compose["services"]


def test_web_healthcheck_asks_the_root_domain_for_its_liveness_page():
    web = load_compose()["services"]["web"]
    check = " ".join(web["healthcheck"]["test"])
    url = re.search(r"https?://[^'\" ]+", check).group()
    host = re.search(r"['\"]Host['\"]\s*:\s*['\"]([^'\"]+)['\"]", check).group(1)
    assert host == web["environment"]["BASE_DOMAIN"]
    assert urlsplit(url).port == 8000
    assert resolve(urlsplit(url).path, urlconf=settings.PUBLIC_SCHEMA_URLCONF).url_name == "health"


def test_the_proxy_runs_the_production_caddyfile_in_front_of_a_live_web():
    # Its readiness half: the Caddyfile's active health check (tests/test_caddyfile.py).
    services = load_compose()["services"]
    proxy = services["proxy"]
    assert "./platform/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["environment"]["BASE_DOMAIN"] == services["web"]["environment"]["BASE_DOMAIN"]
    assert proxy["depends_on"]["web"] == {"condition": "service_healthy"}


def test_migrations_run_once_in_their_own_service_before_every_process_that_uses_the_schemas():
    services = load_compose()["services"]
    migrate = services["migrate"]
    assert as_words(migrate["command"]) == ["migrate"]
    assert migrate["restart"] == "no", "a one-shot service restarted after success would migrate forever"
    completed = {"condition": "service_completed_successfully"}
    for name in ("web", *WORKER_SERVICES, "beat"):
        assert services[name]["depends_on"]["migrate"] == completed, name
    # Replicas of web must not race on migrations at start.
    assert services["web"]["environment"].get("MIGRATE_ON_START", "0") == "0"


def test_no_service_waits_for_webs_readiness_which_waits_for_a_worker():
    # /-/ready/ fails until a worker wrote its heartbeat: a worker (or anything a worker waits for)
    # waiting on web's healthcheck would never start, and web would never be ready.
    services = load_compose()["services"]

    def waits_for(name, seen=()):
        direct = set(services[name].get("depends_on", {}))
        return direct.union(*(waits_for(dependency, (*seen, name)) for dependency in direct - set(seen)))

    for name, service in services.items():
        if service.get("command") and as_words(service["command"])[0] == "worker":
            assert "web" not in waits_for(name), f"{name} waits for web, whose readiness waits for it"


def test_every_long_running_app_service_has_a_healthcheck():
    services = load_compose()["services"]
    for name in ("web", *WORKER_SERVICES):
        assert "healthcheck" in services[name], name


def worker_queues(service: dict) -> list[str]:
    words = as_words(service["command"])
    assert words[0] == "worker"
    return words[1].split(",")


def test_every_queue_tasks_are_routed_to_is_consumed_by_exactly_one_worker_service():
    from config.task_routes import KINDS

    services = load_compose()["services"]
    consumed = [queue for name in WORKER_SERVICES for queue in worker_queues(services[name])]
    assert sorted(consumed) == sorted(KINDS)


def test_transactional_mail_has_a_worker_of_its_own_that_bulk_platform_work_never_occupies():
    services = load_compose()["services"]
    email = worker_queues(services["worker-email"])
    assert email[0] == "email"
    assert "bulk" not in email and "default" not in email


def test_entrypoint_worker_branch_consumes_the_queues_it_is_given(tmp_path):
    # A stand-in `celery` first on PATH prints the arguments the entrypoint ran it with.
    (tmp_path / "celery").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (tmp_path / "celery").chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}

    def run(*words):
        result = subprocess.run(
            ["bash", str(ENTRYPOINT), *words], capture_output=True, text=True, env=env, timeout=30
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    named = run("worker", "email,email_bulk", "--concurrency", "4")
    assert named[named.index("--queues") + 1] == "email,email_bulk"
    assert named[-2:] == ["--concurrency", "4"]
    everything = run("worker")
    assert sorted(everything[everything.index("--queues") + 1].split(",")) == [
        "bulk",
        "default",
        "email",
        "email_bulk",
    ]


# --- what the containers run ------------------------------------------------------------------------


def test_entrypoint_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_entrypoint_runs_any_other_command_as_given():
    command = ["bash", str(ENTRYPOINT), "printf", "%s", "passed through"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (0, "passed through"), result.stderr


def test_each_app_service_runs_an_entrypoint_dispatch_word():
    services = load_compose()["services"]
    branches = entrypoint_branches()
    for name in APP_SERVICES:
        word = as_words(services[name]["command"])[0]
        assert word in branches, f"{name}: entrypoint.sh has no `{word})` branch"
    assert json.loads(last_instruction("CMD"))[0] in branches


def test_web_branch_serves_the_projects_wsgi_application():
    web = entrypoint_branches()["web"]
    target = re.search(r"\bgunicorn\s+([\w.]+):(\w+)", web)
    assert target, "the web branch runs gunicorn on a module:attribute"
    module, attribute = target.groups()
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module), attribute))


def test_web_branch_runs_gunicorn_with_a_config_file_the_image_holds():
    # entrypoint.sh runs from the directory above platform/: /app in the image.
    config = re.search(r"\bgunicorn\b.*--config\s+(\S+)", entrypoint_branches()["web"])
    assert config, "the web branch names gunicorn's config file (platform/gunicorn.conf.py)"
    in_image = PurePosixPath(last_instruction("WORKDIR")) / config.group(1)
    assert repository_file_for(str(in_image)) == ROOT / config.group(1), f"the image has no {in_image}"


def test_every_celery_invocation_names_the_projects_app_and_a_real_subcommand():
    invocations = re.findall(r"\bcelery\s+-A\s+(\S+)\s+(\w+)", text_of_container_files())
    assert {subcommand for _, subcommand in invocations} >= {"worker", "beat", "inspect"}
    assert (ROOT / "config" / "celery.py").is_file()
    for app_name, subcommand in invocations:
        # find_app is how `celery -A` resolves its argument (config -> config.celery:app).
        assert isinstance(find_app(app_name), Celery), app_name
        assert subcommand in celery_cli.commands, f"celery has no `{subcommand}` command"


def test_every_management_command_named_is_a_real_one():
    named = set(re.findall(r"\bpython\s+manage\.py\s+([\w-]+)", text_of_container_files()))
    assert {"migrate_schemas", "collectstatic"} <= named
    missing = named - set(get_commands())
    assert not missing, f"not management commands: {sorted(missing)}"


# --- platform/Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_copies_only_files_that_exist():
    copies = dockerfile_copies_from_context()
    assert copies
    for source, _ in copies:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_dockerfile_entrypoint_is_a_file_the_image_copies_from_the_repository():
    program = json.loads(last_instruction("ENTRYPOINT"))[0]
    assert repository_file_for(program) == ENTRYPOINT, f"ENTRYPOINT {program} is not platform/entrypoint.sh"


def test_image_holds_every_local_app_and_the_project_package():
    workdir = PurePosixPath(last_instruction("WORKDIR"))
    # The suite's own apps (tests/settings.py adds some under tests.) are not the image's.
    local_packages = {
        name.split(".")[0]
        for name in settings.INSTALLED_APPS
        if (ROOT / name.split(".")[0]).is_dir() and not name.startswith("tests.")
    }
    for name in sorted(local_packages | {"config", "manage.py"}):
        assert repository_file_for(str(workdir / name)) is not None, f"the image has no /app/{name}"


def test_image_installs_exactly_the_locked_runtime_dependencies():
    syncs = [arguments for _, arguments in dockerfile_instructions() if "uv sync" in arguments]
    assert syncs, "the Dockerfile never runs uv sync"
    for arguments in syncs:
        assert "--locked" in arguments.split(), arguments
        assert "--no-dev" in arguments.split(), arguments


def test_the_running_image_has_a_pg_dump_of_composes_postgresql_major():
    # The pool's refill (on the worker) dumps its template with pg_dump, which refuses a server newer
    # than itself; the Debian release's own client may be older than compose's server.
    server = re.fullmatch(r"postgres:(\d+)([.-][\w.-]*)?", load_compose()["services"]["postgres"]["image"])
    assert server, "compose's postgres image names its major version"
    runs = " ".join(arguments for keyword, arguments in runtime_stage() if keyword == "RUN")
    assert re.findall(r"\bpostgresql-client-(\d+)\b", runs) == [server.group(1)]
    # Debian's client packages install where the refill looks for a pg_dump.
    assert fnmatch(f"/usr/lib/postgresql/{server.group(1)}/bin/pg_dump", pool.DEBIAN_PG_DUMP_GLOB)


# --- the interpreter: .python-version, requires-python, uv.lock and the image agree ---------------


def pinned_python() -> str:
    return PYTHON_PIN.read_text().strip()


def allowed_minors() -> list[str]:
    """Every CPython 3.x that requires-python lets uv choose (uv picks the newest one it finds)."""
    spec = SpecifierSet(tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"])
    return [f"3.{minor}" for minor in range(8, 30) if f"3.{minor}.0" in spec]


def wheel_runs_on(filename: str, python: str) -> bool:
    minor = int(python.split(".")[1])
    for tag in parse_wheel_filename(filename)[3]:
        if tag.interpreter in ("py3", f"py3{minor}", f"cp3{minor}"):
            return True
        # A stable-ABI wheel built for 3.N runs on every later 3.x.
        if tag.abi == "abi3" and tag.interpreter.startswith("cp3") and int(tag.interpreter[3:]) <= minor:
            return True
    return False


def test_the_pinned_python_is_one_that_requires_python_allows():
    assert re.fullmatch(r"3\.\d+", pinned_python()), "a minor version, so any patch release of it will do"
    assert pinned_python() in allowed_minors()
    assert tomllib.loads(LOCKFILE.read_text())["requires-python"].replace(" ", "") == (
        tomllib.loads(PYPROJECT.read_text())["project"]["requires-python"].replace(" ", "")
    ), "uv.lock is out of date: run `uv lock`"


def test_every_allowed_python_has_a_wheel_of_every_dependency_that_ships_only_wheels():
    # pgserver ships PostgreSQL in wheels for 3.11 and 3.12 only: were 3.13 allowed, uv would pick
    # it where it is installed and `uv sync` would fail on a package it cannot build.
    missing = []
    for package in tomllib.loads(LOCKFILE.read_text())["package"]:
        wheels = [PurePosixPath(urlsplit(wheel["url"]).path).name for wheel in package.get("wheels", [])]
        if not wheels or "sdist" in package:
            continue
        missing += [
            f"{package['name']} on {python}"
            for python in allowed_minors()
            if not any(wheel_runs_on(wheel, python) for wheel in wheels)
        ]
    assert missing == []


def test_the_image_runs_the_pinned_python():
    images = [arguments.split()[0] for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert images, "the Dockerfile has no FROM"
    for image in images:
        assert re.fullmatch(rf"python:{re.escape(pinned_python())}(-[\w.-]+)?", image), image
    # uv in the image reads the pin too, and fails the build rather than use another Python.
    assert ".python-version" in [source for source, _ in dockerfile_copies_from_context()]
