"""Settings, system checks and migrations."""

from __future__ import annotations

import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from django_slashml.conf import DEFAULTS, slashml_settings


def check_ids(**kwargs) -> set[str]:  # type: ignore[no-untyped-def]
    return {message.id for message in run_checks() if message.id and message.id.startswith("slashml.")}


def test_defaults_apply_to_keys_left_out() -> None:
    with override_settings(SLASHML={"API_KEY": "k"}):
        assert slashml_settings.API_URL == "https://api.slashml.com"
        assert slashml_settings.DEFAULT_SERVICE_PROVIDER == "assembly"
        assert DEFAULTS["POLL_BACKOFF_FACTOR"] == slashml_settings.POLL_BACKOFF_FACTOR


def test_settings_are_reloaded_when_overridden() -> None:
    with override_settings(SLASHML={"API_KEY": "k", "API_URL": "https://one.example/"}):
        assert slashml_settings.API_URL == "https://one.example"  # trailing slash dropped
        with override_settings(SLASHML={"API_KEY": "k", "API_URL": "https://two.example"}):
            assert slashml_settings.API_URL == "https://two.example"
        assert slashml_settings.API_URL == "https://one.example"


def test_the_api_key_falls_back_to_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SLASHML_API_KEY", "from-env")
    with override_settings(SLASHML={}):
        assert slashml_settings.API_KEY == "from-env"
    with override_settings(SLASHML={"API_KEY": "from-settings"}):
        assert slashml_settings.API_KEY == "from-settings"


def test_unknown_attribute_is_an_error() -> None:
    with pytest.raises(AttributeError, match="Invalid SlashML setting"):
        slashml_settings.API_TOKEN  # noqa: B018


def test_a_correct_configuration_has_no_findings() -> None:
    assert check_ids() == set()


@pytest.mark.parametrize(
    ("slashml", "expected"),
    [
        ({"API_URL": "https://api.slashml.com"}, "slashml.E001"),
        ({"API_KEY": "k", "API_URL": "ftp://api.slashml.com"}, "slashml.E002"),
        ({"API_KEY": "k", "API_URL": "not a url"}, "slashml.E002"),
        ({"API_KEY": "k", "DEFAULT_SERVICE_PROVIDER": "openai"}, "slashml.E003"),
        ({"API_KEY": "k", "READ_TIMEOUT": -1}, "slashml.E004"),
        ({"API_KEY": "k", "POLL_JITTER": "lots"}, "slashml.E004"),
        ({"API_KEY": "k", "STORAGE": "audio"}, "slashml.E005"),
        ({"API_KEY": "k", "TASK_TIME_LIMIT": 500}, "slashml.E006"),
        ({"API_KEY": "k", "API_TOKEN": "typo"}, "slashml.W001"),
    ],
)
def test_each_misconfiguration_has_its_check(monkeypatch, slashml, expected) -> None:
    monkeypatch.delenv("SLASHML_API_KEY", raising=False)
    with override_settings(SLASHML=slashml):
        assert expected in check_ids()


def test_celery_checks_read_the_celery_configuration() -> None:
    from tests.celery_app import app

    conf = app.conf
    saved = (
        conf.worker_prefetch_multiplier,
        conf.task_always_eager,
        conf.task_annotations,
        conf.broker_url,
        conf.broker_transport_options,
    )
    try:
        conf.worker_prefetch_multiplier = 4
        conf.task_always_eager = True
        conf.task_annotations = {"django_slashml.poll_job": {"acks_late": False}}
        conf.broker_url = "redis://127.0.0.1:6379/0"
        conf.broker_transport_options = {"visibility_timeout": 60}
        assert {"slashml.W010", "slashml.W011", "slashml.E012", "slashml.E013"} <= check_ids()
    finally:
        (
            conf.worker_prefetch_multiplier,
            conf.task_always_eager,
            conf.task_annotations,
            conf.broker_url,
            conf.broker_transport_options,
        ) = saved
    assert check_ids() == set()


def test_checks_never_touch_the_database() -> None:
    # No django_db mark, and conftest's guard refuses the database to the app's checks in every test.
    with override_settings(SLASHML={}):
        assert "slashml.E001" in {m.id for m in run_checks()}


@pytest.mark.django_db
def test_the_guard_refuses_the_database_to_the_apps_checks_and_only_to_them(django_db_blocker) -> None:
    from django.core.checks.registry import CheckRegistry

    from django_slashml.models import TranscriptionJob

    from .conftest import guard_checks

    def check_in(module: str):  # type: ignore[no-untyped-def]
        def check(app_configs=None, **kwargs):  # type: ignore[no-untyped-def]
            TranscriptionJob.objects.exists()
            return []

        check.__module__ = module
        return check

    for module, allowed in (("django_slashml.checks", False), ("django.core.checks.model_checks", True)):
        registry = CheckRegistry()
        registry.register(check_in(module))
        undo = guard_checks(registry, django_db_blocker)
        try:
            if allowed:
                assert registry.run_checks() == []
            else:
                with pytest.raises(RuntimeError, match="Database access not allowed"):
                    registry.run_checks()
        finally:
            undo()
        assert registry.run_checks() == []  # undone: the test's own database access is back


@pytest.mark.django_db
def test_migrations_match_the_models() -> None:
    out = io.StringIO()
    call_command("makemigrations", "django_slashml", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.parametrize("value", ["openai", "Whisper", "", 7, ["whisper"]])
def test_providers_have_one_list_and_one_check(value) -> None:  # type: ignore[no-untyped-def]
    from django_slashml.exceptions import InvalidProviderError
    from django_slashml.jobs.actions import validate_provider
    from django_slashml.models import ServiceProvider
    from django_slashml.remote.protocol import SERVICE_PROVIDERS, provider_problem

    assert tuple(ServiceProvider.values) == SERVICE_PROVIDERS
    assert all(provider_problem(provider) is None for provider in SERVICE_PROVIDERS)
    problem = provider_problem(value)
    assert problem and "use one of: assembly, aws, whisper, deepgram, google, rev." in problem
    with override_settings(SLASHML={"API_KEY": "k", "DEFAULT_SERVICE_PROVIDER": value}):
        found = [m for m in run_checks() if m.id == "slashml.E003"]
        assert [m.hint for m in found] == [problem]
        if value:
            with pytest.raises(InvalidProviderError) as caught:
                validate_provider(value)
            assert str(caught.value) == problem


def test_the_example_project_keeps_celerys_folders_in_its_state_dir(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import runpy
    from pathlib import Path

    monkeypatch.setenv("EXAMPLE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    example = Path(__file__).resolve().parent.parent / "example_project" / "example_project" / "settings.py"
    options = runpy.run_path(str(example))["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert set(options) >= {"data_folder_in", "data_folder_out", "processed_folder", "control_folder"}
    assert all(Path(folder).is_relative_to(tmp_path) for folder in options.values())


def deploy_check_ids() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True) if m.id and m.id.startswith("slashml.W08")}


@pytest.mark.parametrize(
    ("slashml", "debug", "expected"),
    [
        ({"API_KEY": "k", "API_URL": "http://slashml.internal.example"}, False, {"slashml.W080"}),
        ({"API_KEY": "k", "API_URL": "http://slashml.internal.example"}, True, {"slashml.W080"}),
        ({"API_KEY": "k", "API_URL": "http://127.0.0.1:9000"}, False, set()),
        ({"API_KEY": "k", "API_URL": "https://api.slashml.com"}, False, set()),
        ({"API_KEY": "sandbox-key", "API_URL": "https://api.slashml.com"}, False, {"slashml.W081"}),
        ({"API_KEY": "k", "API_URL": "http://127.0.0.1:8765"}, False, {"slashml.W082"}),
        ({"API_KEY": "sandbox-key", "API_URL": "http://localhost:8765"}, False, {"slashml.W081", "slashml.W082"}),
        ({"API_KEY": "sandbox-key", "API_URL": "http://127.0.0.1:8765"}, True, set()),
    ],
)
def test_deploy_checks_flag_plain_http_and_the_sandbox_outside_debug(slashml, debug, expected) -> None:
    with override_settings(SLASHML=slashml, DEBUG=debug):
        assert deploy_check_ids() == expected
        assert not expected & check_ids()  # only with --deploy
