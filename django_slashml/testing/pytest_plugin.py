"""django-slashml's pytest fixtures, registered through the ``pytest11`` entry point.

With the package installed, pytest loads this module itself, so a host project's tests can ask
for ``fake_slashml``, ``slashml_sandbox`` or ``slashml_sandbox_settings`` without importing
anything. pytest loads it before Django is set up: it imports only pytest and the app's
model-free testing helpers here; the rest is imported when a fixture runs. It needs no
pytest-django, though the fixtures that change settings use its ``settings`` fixture when it
is there, so their changes are undone in the right order with the test's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django_slashml.testing.fake import FakeSlashML, eager_celery, fake_settings
from django_slashml.testing.fake import fake_slashml as _fake_slashml

try:
    import pytest
except ImportError:  # pragma: no cover - imported without pytest (the install tier imports every module)
    pytest = None  # type: ignore[assignment]

__all__ = ["fake_slashml", "slashml_media_root", "slashml_sandbox", "slashml_sandbox_settings"]


def _settings_wrapper(request: Any) -> Any:
    """pytest-django's ``settings`` fixture if that plugin is active, else None."""
    if request.config.pluginmanager.hasplugin("django"):
        return request.getfixturevalue("settings")
    return None


if pytest is not None:

    @pytest.fixture
    def slashml_media_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        """``MEDIA_ROOT`` set to a new temporary folder for one test; yields its path.

        Audio that a test hands to ``transcribe()`` is stored there, not in the project (pytest
        keeps the last few runs' temporary folders and deletes older ones). It moves what the
        default ``FileSystemStorage`` writes; a storage configured with a ``location`` of its own,
        or S3, is left as it is. ``fake_slashml`` and ``slashml_sandbox_settings`` use it; a
        ``conftest.py`` can make it apply to every test::

            @pytest.fixture(autouse=True)
            def _media(slashml_media_root): ...
        """
        folder = tmp_path_factory.mktemp("slashml-media")
        wrapper = _settings_wrapper(request)
        if wrapper is not None:
            wrapper.MEDIA_ROOT = str(folder)
            yield folder
            return
        from django.test import override_settings

        with override_settings(MEDIA_ROOT=str(folder)):
            yield folder

    @pytest.fixture
    def fake_slashml(request: pytest.FixtureRequest, slashml_media_root: Any) -> Iterator[FakeSlashML]:
        """The fake SlashML for one test: ``SLASHML`` switched to it, Celery eager, an empty outbox.

        Jobs run through the real pipeline and signals: on commit (``transactional_db``), or
        when the test calls ``fake_slashml.run_jobs()`` (``db``). Stored audio goes to a
        temporary ``MEDIA_ROOT`` (``slashml_media_root``). Yields the fake's controls.
        """
        wrapper = _settings_wrapper(request)
        if wrapper is None:
            with _fake_slashml.active():
                yield _fake_slashml
            return
        wrapper.SLASHML = fake_settings(getattr(wrapper, "SLASHML", None))
        with eager_celery():
            _fake_slashml.reset()
            try:
                yield _fake_slashml
            finally:
                _fake_slashml.reset()

    @pytest.fixture
    def slashml_sandbox() -> Iterator[Any]:
        """A SlashML sandbox on a free loopback port (deterministic engine), stopped after the test."""
        from django_slashml.sandbox import DEFAULT_API_KEY
        from django_slashml.testing import start_sandbox

        server = start_sandbox(api_keys={DEFAULT_API_KEY})
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def slashml_sandbox_settings(
        slashml_sandbox: Any, slashml_media_root: Any, request: pytest.FixtureRequest
    ) -> Iterator[Any]:
        """``slashml_sandbox`` plus ``settings.SLASHML`` pointing at it (fast polls), and a temporary ``MEDIA_ROOT``."""
        from django_slashml.testing import sandbox_settings

        wrapper = _settings_wrapper(request)
        if wrapper is not None:
            wrapper.SLASHML = sandbox_settings(slashml_sandbox)
            yield slashml_sandbox
            return
        from django.test import override_settings

        with override_settings(SLASHML=sandbox_settings(slashml_sandbox)):
            yield slashml_sandbox
