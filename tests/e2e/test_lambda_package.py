"""`zappa package` builds a Lambda zip that carries only what runs, and that zip serves the app on its own.

The package is built as an operator would (README, Deploy): from a venv holding requirements-lambda.txt
only (runtime requirements + Zappa), with `zappa package`, offline. The venv is cached between runs under
the temp dir, keyed by the requirements. Its handler is then run from the unpacked folder by a bare
interpreter (`python -I -S`: no site-packages), against a SQLite database under /tmp.

Runs once, in the SQLite pass (the package does not depend on the database of the pass).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from tests.e2e.lambda_support import ROOT, api_event, json_event

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="the package is built and checked once, in the SQLite pass"),
]

LAMBDA_LIMIT_MB = 250  # unzipped deployment package, AWS Lambda quota
DEV_TOOLS = {"pytest", "_pytest", "pytest_django", "xdist", "ruff", "playwright", "schemathesis", "hypothesis",
             "factory", "faker", "pip", "setuptools"}
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "staticfiles", "*.zip", "test-artifacts", "node_modules")
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
SECRET = "package-test-secret-Vq3!xR8@mN1#tB6$kW4%yH9^cL2&dF7*zP5"

DRIVER = r'''
"""Play AWS Lambda: import the package's handler from its folder and hand it events, one process, like a warm start."""
import json, os, sys

task, events_file, out_file = sys.argv[1:4]
sys.path.insert(0, task)
os.chdir(task)
import handler  # noqa: E402  (the zip's own handler.py)


class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    aws_request_id = "package-test"

    def get_remaining_time_in_millis(self):
        return 30000


with open(events_file) as f:
    events = json.load(f)
answers, access = [], ""
for event in events:
    if "{access}" in json.dumps(event):  # the bearer token of the login before
        event = json.loads(json.dumps(event).replace("{access}", access))
    answers.append(handler.lambda_handler(event, Context()))
    if isinstance(answers[-1], dict) and '"access"' in (answers[-1].get("body") or ""):
        access = json.loads(answers[-1]["body"])["access"]
with open(out_file, "w") as f:
    files = {name: sys.modules[name].__file__ for name in ("django", "zappa", "psycopg2", "rest_framework", "inventory_alloc")
             if name in sys.modules}
    json.dump({"answers": answers, "path": sys.path, "files": files}, f, default=str)
'''


def lambda_venv() -> Path:
    """Return a venv with requirements-lambda.txt only; built once per requirements, cached under the temp dir."""
    requirements = b"".join((ROOT / name).read_bytes() for name in ("requirements.txt", "requirements-lambda.txt"))
    key = hashlib.sha256(requirements + sys.version.encode() + b"--no-compile").hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"inventory-alloc-lambda-venv-{key}"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run building the same venv: wait for it
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([BASE_PYTHON, "-m", "venv", str(venv)], check=True)
            # No .pyc files: the package leaves them out anyway (Lambda could not use them), so don't copy them around.
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile", "-r",
                            str(ROOT / "requirements-lambda.txt")], check=True)
            (venv / ".complete").touch()
    return venv


def zappa_package(stage: str, workdir: Path) -> Path:
    """Build the stage's zip with `zappa package` from a copy of the project, as the deploy docs say."""
    project = workdir / "project"
    if not project.exists():
        shutil.copytree(ROOT, project, ignore=COPY_IGNORE)
        # What an operator's checkout also holds, and the package must leave out.
        (project / ".git").mkdir()
        (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        (project / ".venv" / "lib").mkdir(parents=True)
        (project / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    venv = lambda_venv()
    output = workdir / f"{stage}.zip"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "AWS_"))},
           "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(venv / "bin" / "zappa"), "package", stage, "-o", str(output)], cwd=project, env=env,
                   check=True, capture_output=True, timeout=600)
    return output


@pytest.fixture(scope="module")
def workdir():
    directory = Path(tempfile.mkdtemp(prefix="ia-package-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def dev_zip(workdir) -> Path:
    return zappa_package("dev", workdir)


def our_source_files(project: Path) -> list[str]:
    """Return our apps' code, templates, static files and migrations in `project`, as package paths."""
    files = []
    for top in ("inventory_alloc", "stock", "orders", "allocation", "templates", "locale"):
        for path in (project / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(str(path.relative_to(project)))
    return files


def test_the_zip_holds_the_handler_its_settings_and_our_apps_with_templates_and_static_files(dev_zip, workdir):
    names = set(zipfile.ZipFile(dev_zip).namelist())

    assert {"handler.py", "zappa_settings.py", "django_zappa_app.py", "manage.py"} <= names
    missing = [path for path in our_source_files(workdir / "project") if path not in names]
    assert missing == []
    assert "allocation/tasks.py" in names and "allocation/migrations/0001_initial.py" in names
    assert "django/contrib/admin/static/admin/css/base.css" in names and "unfold/static/unfold/css/styles.css" in names
    assert "django/contrib/admin/templates/admin/login.html" in names
    settings_module = zipfile.ZipFile(dev_zip).read("zappa_settings.py").decode()
    assert "API_STAGE='dev'" in settings_module and "DJANGO_SETTINGS='inventory_alloc.settings'" in settings_module


def test_the_zip_leaves_out_tests_dev_tools_caches_and_local_databases(dev_zip):
    names = zipfile.ZipFile(dev_zip).namelist()
    tops = {name.split("/")[0] for name in names}

    assert not tops & {"tests", "bench", "docs", ".git", ".venv", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    assert not tops & DEV_TOOLS
    assert not [t for t in tops if t.endswith(".dist-info") and t.split("-")[0].lower() in DEV_TOOLS]
    assert not [n for n in names if "__pycache__/" in n or n.endswith((".sqlite3", ".pyc"))]


def test_the_unpacked_package_is_well_under_the_lambda_limit(dev_zip, record_property):
    infos = zipfile.ZipFile(dev_zip).infolist()
    unpacked_mb = sum(info.file_size for info in infos) / 1024 / 1024

    record_property("unpacked_mb", round(unpacked_mb, 1))
    print(f"\nLambda package: {dev_zip.stat().st_size / 1024 / 1024:.1f} MiB zipped, {unpacked_mb:.1f} MiB unpacked, "
          f"{len(infos)} files")
    assert unpacked_mb < 0.6 * LAMBDA_LIMIT_MB


def test_compiled_modules_are_built_for_cpython_311_on_x86_64_linux(dev_zip):
    archive = zipfile.ZipFile(dev_zip)
    shared = [name for name in archive.namelist() if name.endswith(".so") or ".so." in name]

    assert any("psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so" == name for name in shared)
    for name in shared:
        if name.endswith(".so") and "cpython-" in name:
            assert "cpython-311-x86_64-linux-gnu" in name, name
        header = archive.open(name).read(20)
        assert header[:4] == b"\x7fELF" and header[4] == 2, f"{name} is not a 64-bit ELF file"
        assert int.from_bytes(header[18:20], "little") == 62, f"{name} is not built for x86-64"


def test_the_zips_own_handler_serves_migrate_a_get_and_a_post_in_a_bare_interpreter(dev_zip, workdir):
    # given: the zip unpacked as Lambda does into its task folder, and a database under /tmp
    task = workdir / "task"
    zipfile.ZipFile(dev_zip).extractall(task)
    (workdir / "driver.py").write_text(DRIVER)
    database = workdir / "lambda.sqlite3"
    create_admin = ("from django.contrib.auth.models import User; "
                    "User.objects.create_superuser('admin', 'admin@example.com', 'Lambda-pass-2026')")
    events = [
        {"manage": "migrate --noinput"},
        {"raw_command": create_admin},
        api_event("GET", "/admin/login/"),
        api_event("GET", "/static/backoffice/backoffice.css"),
        json_event("POST", "/api/v1/token/", {"username": "admin", "password": "Lambda-pass-2026"}),
        json_event("POST", "/api/v1/allocate/", {"method": "FIFO"}, token="{access}"),
        api_event("GET", "/api/v1/orders/", headers={"Authorization": "Bearer {access}"}),
    ]
    (workdir / "events.json").write_text(json.dumps(events))
    env = {
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_LAMBDA_FUNCTION_NAME": "inventory-alloc-dev",
        "AWS_REGION": "ap-northeast-1", "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SECRET_KEY": SECRET,
    }

    # when
    subprocess.run([BASE_PYTHON, "-I", "-S", str(workdir / "driver.py"), str(task), str(workdir / "events.json"),
                    str(workdir / "out.json")], env=env, check=True, capture_output=True, timeout=300)
    out = json.loads((workdir / "out.json").read_text())
    migrate, raw, login_page, css, token, allocate, orders = out["answers"]

    # then: nothing came from outside the package, and every event was served
    assert not [p for p in out["path"] if "site-packages" in p]
    assert len(out["files"]) == 5 and all(path.startswith(f"{task}/") for path in out["files"].values()), out["files"]
    assert migrate == {} and raw is None
    assert database.stat().st_size > 100_000
    assert login_page["statusCode"] == 200
    assert 'href="/dev/static/unfold/css/styles.css"' in login_page["body"]
    assert 'href="/dev/static/backoffice/backoffice.css"' in login_page["body"]
    assert css["statusCode"] == 200 and css["headers"]["Content-Type"].startswith("text/css")
    assert token["statusCode"] == 200 and json.loads(token["body"])["access"]
    assert allocate["statusCode"] == 201, allocate["body"]
    assert json.loads(allocate["body"])["run"]["status"] == "done"
    assert orders["statusCode"] == 200 and json.loads(orders["body"])["count"] == 0


def test_zappa_packages_the_production_stage_too(workdir):
    zip_path = zappa_package("production", workdir)

    settings_module = zipfile.ZipFile(zip_path).read("zappa_settings.py").decode()
    assert "API_STAGE='production'" in settings_module
    assert "'ALLOCATION_WORKER_FUNCTION': 'inventory-alloc-production-worker'" in settings_module
