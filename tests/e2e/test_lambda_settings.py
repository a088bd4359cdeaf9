"""The settings a Lambda process gets, checked in fresh interpreters with the environment AWS and Zappa give it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.lambda_support import ROOT, settings_on_lambda, stage_environment

STRONG_KEY = "q8Zr!vN3#pL6@tY1$wK9%hD4^mB7&xC2*fJ5(sG0)aE8-uR3-Lambda-Test-Only-7Hn2"  # 50+ random-looking characters


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run manage.py with the real settings and only `env` on top of a clean environment."""
    ours = ("DATABASE_URL", "DJANGO_", "AWS_", "STAGE", "ALLOCATION_", "JWT_")
    base = {name: value for name, value in os.environ.items() if not name.startswith(ours)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "inventory_alloc.settings", **env})


def production_env(**extra: str) -> dict[str, str]:
    return {
        **stage_environment("production"), "DJANGO_SECRET_KEY": STRONG_KEY,
        "DATABASE_URL": "postgres://app:secret@inventory.proxy-abc.ap-northeast-1.rds.amazonaws.com:5432/inventory",
        **extra,
    }


def test_check_deploy_is_clean_with_the_production_stage_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_is_clean_off_lambda_too_with_debug_off():
    # any HTTPS deployment (a container, a VM) gets HSTS, the SSL redirect and secure cookies by default
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={"DJANGO_SECRET_KEY": STRONG_KEY})

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_https_is_switched_off():
    env = {"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_SECURE": "0"}

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr and "security.W012" in result.stderr


def test_on_lambda_a_sqlite_database_in_the_package_folder_refuses_to_start():
    env = {**production_env(), "DATABASE_URL": "sqlite:////var/task/db.sqlite3"}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL must point at PostgreSQL (RDS); got SQLite at /var/task/db.sqlite3" in result.stderr


def test_on_lambda_no_database_url_means_the_default_sqlite_file_and_is_refused():
    env = production_env()
    env.pop("DATABASE_URL")

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "got SQLite at" in result.stderr


def test_on_lambda_a_sqlite_file_under_tmp_is_accepted_for_throwaway_tests(tmp_path):
    result = manage("check", env=production_env(DATABASE_URL="sqlite:////tmp/ia-throwaway.sqlite3"))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("stage", "script_name", "static_url"), [
    ("dev", "/dev", "/dev/static/"),
    ("production", "/production", "/production/static/"),
])
def test_on_the_execute_api_host_links_and_static_files_keep_the_stage_prefix(stage, script_name, static_url):
    values = settings_on_lambda(stage)

    assert values["FORCE_SCRIPT_NAME"] == script_name
    assert values["STATIC_URL"] == static_url
    assert values["ALLOWED_HOSTS"] == [".execute-api.ap-northeast-1.amazonaws.com"]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_behind_a_custom_domain_at_its_root_there_is_no_prefix():
    values = settings_on_lambda("production", DJANGO_SCRIPT_NAME="")

    assert values["FORCE_SCRIPT_NAME"] is None
    assert values["STATIC_URL"] == "/static/"


def test_zappa_settings_keep_secrets_out_of_the_repository_and_fit_api_gateway():
    config = json.loads((ROOT / "zappa_settings.json").read_text())

    for name, stage in config.items():
        assert "exclude" not in stage, f"{name}: bare `exclude` names drop packages of that name anywhere"
        for variables in (stage.get("environment_variables", {}), stage.get("aws_environment_variables", {})):
            # environment_variables are baked into the package and override the function's own variables
            assert not {"DATABASE_URL", "DJANGO_SECRET_KEY"} & set(variables), name
    for name in ("dev", "production"):
        stage = {**config["dev"], **config[name]}
        assert stage["timeout_seconds"] <= 30 and stage["runtime"] == "python3.11"
        assert stage["aws_region"] == "ap-northeast-1" and stage["use_precompiled_packages"] is False
        assert set(stage["vpc_config"]) == {"SubnetIds", "SecurityGroupIds"}
        assert stage["keep_warm"] is True and stage["django_settings"] == "inventory_alloc.settings"
    assert config["production_worker"]["apigateway_enabled"] is False
    assert config["production"]["environment_variables"]["ALLOCATION_WORKER_FUNCTION"] == "inventory-alloc-production-worker"


def test_the_deploy_venv_and_the_development_venv_pin_the_same_zappa():
    def lines(name: str) -> list[str]:
        return [line.strip() for line in (ROOT / name).read_text().splitlines()]

    # one pin: the development venv installs the deployment requirements, which pin Zappa
    assert [line for line in lines("requirements-lambda.txt") if line.lower().startswith("zappa")] == ["zappa==0.63.0"]
    assert "-r requirements.txt" in lines("requirements-lambda.txt")
    assert "-r requirements-lambda.txt" in lines("requirements-dev.txt")
    assert not [line for line in lines("requirements-dev.txt") if line.lower().startswith("zappa")]


def test_on_lambda_the_cache_is_a_database_table_that_migrate_creates():
    # given: Lambda's environment with a throwaway database
    env = production_env(DATABASE_URL=f"sqlite:////tmp/ia-cache-{os.getpid()}.sqlite3")
    try:
        # when
        migrated = manage("migrate", "--noinput", env=env)
        used = manage("shell", "-c", (
            "from django.core.cache import cache; from django.conf import settings; cache.set('k', 'v'); "
            "print(cache.get('k'), settings.IMPORT_EXPORT_TMP_STORAGE_CLASS)"
        ), env=env)
    finally:
        os.remove(f"/tmp/ia-cache-{os.getpid()}.sqlite3")
    # then: every container sees one throttle count and one import preview file
    assert migrated.returncode == 0, migrated.stderr
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().endswith("v import_export.tmp_storages.CacheStorage")
