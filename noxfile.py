"""Automation for the restflow workspace: ``python3 noxw.py -l`` lists the sessions.

Distributions are discovered from ``packages/*/pyproject.toml``; nothing here names a
package, so a new distribution is tested, type-checked, built and isolated as soon as
its directory exists.

Sessions
    tests           every distribution (editable) + the whole suite on SQLite
    tests-postgres  the same suite on PostgreSQL (``DATABASE_URL``)
    oldest          the suite on the lowest version every pin allows (uv lowest-direct)
    lint            ``ruff check .``
    typecheck       mypy over every package, installed non-editable (py.typed honoured)
    dist            build wheels + sdists, check their contents, run the suite on the wheels
    isolated        each distribution alone in its own venv, with its own tests
    docs            ``mkdocs build --strict``
    field           the field matrix (tests/field): database x project, real servers
    demo            the catalogue demo (docs/example) and its scripted tour
    bench           benchmarks against simplejwt / drf-extensions (writes docs/benchmarks*)
    load            the demo under gunicorn + Locust, restflow vs the peers' build (HTTP figures)
    soak            the same rig with a Celery worker, correctness checks and a fault by pid
    soak-smoke      the 2-minute soak CI runs (one fault, small load, fails on a broken check)
    version         ``nox -s version -- X.Y.Z`` rewrites every version and sibling pin
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import nox
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent
PACKAGES = ROOT / "packages"
PYTHON = "3.11"
# uv when nox can find it (``pip install nox[uv]``), plain virtualenv otherwise.
BACKEND = "uv|virtualenv"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/restflow"
# What the shared test bed (tests/testbed) itself needs to run any test.
HARNESS = ["pytest>=8.4", "pytest-django>=4.9"]
# The workspace's own test tooling (top-level tests and fixtures).
ROOT_TEST_TOOLS = [*HARNESS, "hypothesis>=6", "redis>=5", "django-redis>=5.4", "matplotlib>=3.8"]
# Checkers are pinned: a new release with new rules must not turn CI red by itself.
LINT_TOOLS = ["ruff==0.17.6"]
TYPING_TOOLS = ["mypy==2.4.1", "django-stubs==6.1.2", "djangorestframework-stubs==3.18.1"]
DOCS_TOOLS = ["mkdocs==1.6.1", "mkdocs-material==9.8.2"]
PLUGIN_PREFIX = "restflow-dispatch-"
# The field matrix (tests/field): each database the projects run on x each project.
FIELD_DBS = ["sqlite", "postgres-rc", "postgres-rr", "mariadb-rc", "mariadb-rr"]
FIELD_PROJECTS = ["stock", "custom"]
FIELD_TOOLS = [
    *HARNESS,
    "redis>=5",
    "django-redis>=5.4",
    "psycopg[binary]>=3.1",
    "mysqlclient>=2.2",  # built against libmariadb-dev (tests/testbed/install_services.sh)
    "pymemcache>=4",
]
DEFAULT_FIELD_PG_URL = "postgres://postgres@127.0.0.1:5432/restflow_field"
# ``oldest`` resolves every requirement it is given (each distribution's dependencies and
# test group) to the lowest version its pin allows; what those pull in stays the newest.
OLDEST_RESOLUTION = ["--resolution", "lowest-direct"]
# Prints ``name==version`` of every installed distribution (uv venvs have no pip).
FREEZE = (
    "import importlib.metadata as m; "
    "print(*sorted(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()), sep='\\n')"
)
SHM = "/dev/shm"  # noqa: S108 - only a parent for mkdtemp()

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_external_run = True
nox.needs_version = ">=2025.2.9"


# --------------------------------------------------------------------------- discovery


def _load_helper(name: str) -> ModuleType:
    """A module of tests/packaging (shared with its tests; standard library only)."""
    path = ROOT / "tests" / "packaging" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_restflow_{name}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{path} is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


distcheck = _load_helper("distcheck")  # imports tests/packaging/versioning.py too
versioning = distcheck.versioning
DISTS: list[str] = versioning.distributions()
CHECKER = str(ROOT / "tests" / "packaging" / "distcheck.py")


def _pyproject(dist: str) -> dict:
    return versioning.load(PACKAGES / dist / "pyproject.toml")


def _test_group(dist: str) -> list[str]:
    data = _pyproject(dist)
    if "test" not in data.get("dependency-groups", {}):
        return []
    return list(nox.project.dependency_groups(data, "test"))


def _targets(
    dists: list[str], reqs: list[str], where: Callable[[str], Path], *, editable: bool = False
) -> list[str]:
    """Install arguments: ``dists`` from ``where(dist)`` (a directory or a wheel) + ``reqs``.

    A requirement on a workspace distribution (in a test group, say) never goes to the
    package index: it is merged, with its extras, into that distribution's local target.
    """
    extras: dict[str, set[str]] = {d: set() for d in dists}
    others: list[str] = []
    for req in reqs:
        parsed = Requirement(req)
        name = distcheck.normalize(parsed.name)
        if name in DISTS:
            extras.setdefault(name, set()).update(parsed.extras)
        elif req not in others:
            others.append(req)
    args: list[str] = []
    for name, chosen in extras.items():
        suffix = f"[{','.join(sorted(chosen))}]" if chosen else ""
        if editable:
            args += ["-e", f"{where(name)}{suffix}"]
        else:
            args.append(f"{name}{suffix} @ {where(name).resolve().as_uri()}")
    return args + others


def _source(dist: str) -> Path:
    return PACKAGES / dist


def _local_closure(reqs: list[str]) -> list[str]:
    """Workspace distributions reachable from ``reqs`` (dependencies and chosen extras)."""
    found: list[str] = []
    todo = [Requirement(r) for r in reqs]
    while todo:
        req = todo.pop()
        name = distcheck.normalize(req.name)
        if name not in DISTS:
            continue
        project = _pyproject(name)["project"]
        nested = list(project.get("dependencies", []))
        for extra in req.extras:
            nested += project.get("optional-dependencies", {}).get(extra, [])
        if name not in found:
            found.append(name)
        todo += [Requirement(n) for n in nested]
    return found


def _all_test_groups() -> list[str]:
    return [r for dist in DISTS for r in _test_group(dist)]


def _pytest(session: nox.Session, *args: str, install: str, env: dict[str, str] | None = None) -> None:
    run_env = {"RESTFLOW_TEST_INSTALL": install, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    sqlite_dir = None
    if "RESTFLOW_TEST_SQLITE_DIR" not in os.environ and os.access(SHM, os.W_OK):
        # The test bed's SQLite files on tmpfs: transactional tests flush every table
        # after each test, and fsync on a real disk makes that the suite's biggest cost.
        sqlite_dir = tempfile.mkdtemp(prefix="restflow-sqlite-", dir=SHM)
        run_env["RESTFLOW_TEST_SQLITE_DIR"] = sqlite_dir
    try:
        session.run("pytest", *args, *session.posargs, env=run_env)
    finally:
        if sqlite_dir:
            shutil.rmtree(sqlite_dir, ignore_errors=True)


# --------------------------------------------------------------------------- sessions


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def tests(session: nox.Session) -> None:
    """The whole suite (every package's tests + tests/) on SQLite, packages editable."""
    session.install(*_targets(DISTS, [*_all_test_groups(), *ROOT_TEST_TOOLS], _source, editable=True))
    _pytest(session, "--durations=15", install="editable", env={"RESTFLOW_TEST_REQUIRE_ALL": "1"})


@nox.session(name="tests-postgres", python=PYTHON, venv_backend=BACKEND, download_python="never")
def tests_postgres(session: nox.Session) -> None:
    """The whole suite on PostgreSQL (``DATABASE_URL``, default: local restflow DB)."""
    reqs = [*_all_test_groups(), *ROOT_TEST_TOOLS, "psycopg[binary]>=3.1"]
    session.install(*_targets(DISTS, reqs, _source, editable=True))
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    session.log(f"DATABASE_URL={url}")
    _pytest(
        session,
        "--durations=15",
        install="editable",
        env={"DATABASE_URL": url, "RESTFLOW_TEST_REQUIRE_ALL": "1"},
    )


@nox.session(python=PYTHON, venv_backend="uv", download_python="never")
def oldest(session: nox.Session) -> None:
    """The whole suite on the oldest versions the pins allow (``uv --resolution lowest-direct``).

    Every lower bound in ``packages/*/pyproject.toml`` (dependencies, extras, test groups)
    is what gets installed, so a bound that is too low fails here instead of on a user's
    machine. The resolved versions are printed first.
    """
    reqs = [*_all_test_groups(), *ROOT_TEST_TOOLS]
    session.install(*OLDEST_RESOLUTION, *_targets(DISTS, reqs, _source, editable=True))
    session.run("python", "-c", FREEZE)
    _pytest(session, "--durations=15", install="editable", env={"RESTFLOW_TEST_REQUIRE_ALL": "1"})


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def lint(session: nox.Session) -> None:
    """ruff over the whole repository (config: root pyproject.toml)."""
    session.install(*LINT_TOOLS)
    session.run("ruff", "check", ".", *session.posargs)


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def typecheck(session: nox.Session) -> None:
    """mypy over every package, installed non-editable so py.typed markers count."""
    session.install(*(str(PACKAGES / d) for d in DISTS), *TYPING_TOOLS)
    targets: list[str] = []
    for dist in DISTS:
        for name in distcheck.modules_of(dist):
            is_package = (PACKAGES / dist / "src" / name.replace(".", "/")).is_dir()
            targets += ["-p" if is_package else "-m", name]
    # From the repository root (for the [tool.mypy] config) but against site-packages:
    # nothing on the search path points at packages/*/src.
    session.run("mypy", *targets, *session.posargs, env={"MYPYPATH": ""})


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def dist(session: nox.Session) -> None:
    """Build every wheel + sdist, check them, install the wheels, run the suite on them."""
    out = Path(session.create_tmp()).resolve() / "dist"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    backends = {r for d in DISTS for r in _pyproject(d).get("build-system", {}).get("requires", [])}
    session.install("build>=1.2", *sorted(backends))
    for name in DISTS:
        # sdist first, then the wheel built from that sdist (proves the sdist is whole).
        session.run(
            "python",
            "-m",
            "build",
            "--no-isolation",
            "--outdir",
            str(out),
            str(PACKAGES / name),
            silent=True,
        )
    session.run("python", CHECKER, "artifacts", str(out))
    wheels = {distcheck.Wheel.read(w).name: w for w in out.glob("*.whl")}
    # Sibling pins resolve to the wheels given on the same command line.
    session.install(*_targets(DISTS, [*_all_test_groups(), *ROOT_TEST_TOOLS], wheels.__getitem__))
    session.run("python", CHECKER, "installed", str(out))
    _pytest(session, "--durations=15", install="wheel", env={"RESTFLOW_TEST_REQUIRE_ALL": "1"})


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
@nox.parametrize("dist", DISTS)
def isolated(session: nox.Session, dist: str) -> None:
    """One distribution alone (non-editable), with what its metadata declares."""
    declared = [dist]
    if dist.startswith(PLUGIN_PREFIX) and "restflow-cache" in DISTS:
        # Plugins depend on core only, but they exist to run next to restflow-cache.
        declared.append("restflow-cache")
    group = _test_group(dist)
    local = _local_closure([*declared, *group])
    session.install(*_targets(local, [*group, *HARNESS], _source))
    session.run("python", CHECKER, "isolated", ",".join(sorted(local)))
    _pytest(session, str(PACKAGES / dist / "tests"), install="wheel")


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
@nox.parametrize("project", FIELD_PROJECTS)
@nox.parametrize("db", FIELD_DBS)
def field(session: nox.Session, db: str, project: str) -> None:
    """The field matrix: one project (stock auth.User or custom user) on one database.

    ``-s field`` runs every cell; ``-s "field(db='mariadb-rr', project='stock')"`` one.
    PostgreSQL: ``RESTFLOW_FIELD_PG_URL`` (default: local restflow_field DB). MariaDB and
    memcached are started by the test bed (``bash tests/testbed/install_services.sh``
    installs them).
    """
    reqs = ["restflow-jwt", "restflow-cache[redis]"]
    session.install(*_targets(_local_closure(reqs), [*reqs, *FIELD_TOOLS], _source, editable=True))
    pg_url = os.environ.get("RESTFLOW_FIELD_PG_URL") or DEFAULT_FIELD_PG_URL
    _pytest(
        session,
        str(ROOT / "tests" / "field"),
        "-o",
        "pythonpath=tests/testbed tests/field",
        f"--ds=field_{project}.settings",
        install="editable",
        env={"RESTFLOW_FIELD_DB": db, "RESTFLOW_FIELD_PG_URL": pg_url},
    )


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def docs(session: nox.Session) -> None:
    """Build the documentation with mkdocs in strict mode (warnings are errors)."""
    session.install(*DOCS_TOOLS)
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(site),
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def demo(session: nox.Session) -> None:
    """The catalogue demo (docs/example): serve it and run the tour over HTTP.

    ``-- --tour-only`` stops after the tour; ``-- --redis URL`` puts the cache and the
    blacklist in Redis; ``-- --broker celery|rq|dramatiq|django_q`` adds that worker.
    """
    reqs = ["restflow-jwt[crypto]", "restflow-cache"]  # [crypto]: the demo signs with ES256
    args = " ".join(session.posargs).replace("=", " ").split()
    if "--redis" in args:
        reqs.append("restflow-cache[redis]")
    if "--broker" in args[:-1]:
        broker = args[args.index("--broker") + 1]
        reqs.append(f"restflow-cache[{broker.replace('_', '-')}]")
    session.install(*_targets(_local_closure(reqs), reqs, _source))
    session.run("python", str(ROOT / "docs" / "example" / "demo.py"), *session.posargs)


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def bench(session: nox.Session) -> None:
    """restflow vs simplejwt / drf-extensions / raw cache calls, in fresh processes.

    Writes docs/benchmarks.md and docs/benchmarks/ (results.md, results.json, charts).
    ``-- --groups jwt,cache --processes 5`` runs a subset; ``DATABASE_URL`` selects PostgreSQL.
    """
    reqs = [
        "redis>=5",
        "django-redis>=5.4",
        "djangorestframework-simplejwt>=5.3",
        "drf-extensions>=0.7",
        "matplotlib>=3.8",
        "celery[redis]>=5.3",
        "pymemcache>=4",
        "django-valkey>=0.4",
    ]
    if os.environ.get("DATABASE_URL"):
        reqs.append("psycopg[binary]>=3.1")
    # Editable: ``-R`` skips every install, so a regular install would measure old code.
    session.install(*_targets(DISTS, reqs, _source, editable=True))
    session.run("python", str(ROOT / "tests" / "benchmarks" / "bench_run.py"), *session.posargs)


# What the HTTP rig (tests/soak) runs: servers, the load generator, the peers' build.
SOAK_TOOLS = [
    "restflow-jwt[crypto]",  # the demo signs with ES256
    "restflow-cache[redis,celery,rq,dramatiq,django-q]",
    "psycopg[binary,pool]>=3.1",
    "gunicorn>=23",
    "uvicorn>=0.30",
    "locust>=2.30",
    "djangorestframework-simplejwt>=5.3",
    "drf-extensions>=0.7",
    "celery[redis]>=5.3",
    "matplotlib>=3.8",  # the --steps chart (tests/soak/soak_chart.py)
]
DEFAULT_SOAK_PG_URL = "postgres://postgres@127.0.0.1:5432/restflow_soak"


def _soak_rig(session: nox.Session, mode: str, *args: str, database: str = DEFAULT_SOAK_PG_URL) -> None:
    session.install(*_targets(_local_closure(SOAK_TOOLS), SOAK_TOOLS, _source, editable=True))
    url = os.environ.get("RESTFLOW_SOAK_PG_URL") or database
    session.run(
        "python",
        str(ROOT / "tests" / "soak" / "soak_run.py"),
        mode,
        *args,
        *session.posargs,
        env={"RESTFLOW_SOAK_PG_URL": url, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def load(session: nox.Session) -> None:
    """The demo API under gunicorn, Locust headless: restflow vs simplejwt + drf-extensions.

    Starts its own Redis, uses PostgreSQL (``RESTFLOW_SOAK_PG_URL``, default: local
    restflow_soak DB), writes a section of docs/benchmarks.md. ``-- --seconds 60 --users 20``.
    """
    _soak_rig(session, "load")


@nox.session(python=PYTHON, venv_backend=BACKEND, download_python="never")
def soak(session: nox.Session) -> None:
    """The same rig with a Celery worker: stale reads, double spends, lost invalidations,
    5xx by cause, recovery time, and one fault by pid (``-- --fault redis-restart|redis-stop|
    broker-stop|worker-kill|web-kill|pg-drop|none``)."""
    _soak_rig(session, "soak")


@nox.session(name="soak-smoke", python=PYTHON, venv_backend=BACKEND, download_python="never")
def soak_smoke(session: nox.Session) -> None:
    """The 2-minute CI version of ``soak``: restflow only, 4 users, 30 s, one web worker
    SIGKILLed; exits non-zero when a check fails. Database: ``restflow_soak_smoke``."""
    _soak_rig(session, "soak", "--smoke", database=DEFAULT_SOAK_PG_URL + "_smoke")


# --------------------------------------------------------------------------- version


@nox.session(python=False)
def version(session: nox.Session) -> None:
    """``nox -s version -- X.Y.Z``: one version for every distribution."""
    if len(session.posargs) != 1:
        session.error(f"usage: nox -s version -- X.Y.Z   (current: {versioning.root_version()})")
    try:
        changed = versioning.set_version(session.posargs[0])
    except (ValueError, RuntimeError) as exc:
        session.error(str(exc))
    for path in changed:
        session.log(f"updated {path.relative_to(ROOT)}")
    if not changed:
        session.log("nothing to change")
    problems = versioning.version_problems()
    if problems:
        session.error("versions still disagree:\n" + "\n".join(problems))


if __name__ == "__main__":  # pragma: no cover - convenience for `python noxfile.py`
    sys.exit("run `python3 noxw.py -l` to list the sessions")
