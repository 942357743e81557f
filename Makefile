# django-slashml: `make test` and `make demo` work on a fresh machine with only Python and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: docs package-check test test-default test-services mariadb-ready test-mariadb test-no-extras test-install test-matrix reliability-report bench bench-quick bench-smoke bench-scale lint format messages demo sandbox clean

# pip's and setuptools' output goes to $(INSTALL_LOG), shown only when an install fails.
INSTALL_LOG := $(VENV)/install.log
LOGGED = >>$(INSTALL_LOG) 2>&1 || { cat $(INSTALL_LOG); echo "==> the install failed; pip's output is above and in $(INSTALL_LOG)"; exit 1; }

$(STAMP): setup.cfg pyproject.toml
	@echo "==> creating $(VENV) and installing django-slashml with its test extras (pip's output: $(INSTALL_LOG))"
	@$(PYTHON) -m venv $(VENV)
	@: > $(INSTALL_LOG)
	@$(BIN)/python -m pip install --upgrade pip $(LOGGED)
	@$(BIN)/python -m pip install -e ".[sandbox,api,test,lint,s3]" $(LOGGED)
	@# The vendor's client, for the compatibility test (its declared dependencies
	@# pull in a model-deployment toolkit the speech-to-text code never uses).
	@$(BIN)/python -m pip install --no-deps "slashml==0.1.6" $(LOGGED)
	@touch $(STAMP)

# Both cores: pytest-xdist, two worker processes, each test file kept on one worker (its module
# fixtures, an in-process Celery worker or the demo, start once). Each worker has databases, a
# media folder and a Redis number of its own (tests/settings.py). XDIST= runs in one process.
XDIST ?= -n 2 --dist loadfile

# The default tier needs nothing but Python; the service tier runs when PostgreSQL and Redis answer
# on 127.0.0.1 (and must, when CI=true). CONTRIBUTING.md says what each tier alone proves.
test: $(STAMP) lint test-default test-services

test-default: $(STAMP)
	$(BIN)/pytest $(XDIST) -p no:cacheprovider

# PostgreSQL + Redis: the tests marked services in parallel, then the reliability suite (worker
# processes, faults, kills, timings; one run on RabbitMQ) alone, a file per process: the Celery
# runs beside the mid-step kills, whose minute is mostly a lease running out, and the db_worker runs.
test-services: $(STAMP)
	@$(BIN)/python tests/services.py; status=$$?; \
	  if [ $$status -eq 3 ]; then exit 0; elif [ $$status -ne 0 ]; then exit $$status; fi; \
	  SLASHML_TEST_TIER=services $(BIN)/pytest $(XDIST) -p no:cacheprovider -m "services and not reliability" && \
	  SLASHML_TEST_TIER=services $(BIN)/pytest $(XDIST) -p no:cacheprovider -m reliability

# MariaDB 10.11 on 127.0.0.1:3306 (root, no password), Celery in memory: tests/tiers.py's MARIADB
# files, where the database changes the outcome, in parallel; then their reliability runs (a worker
# SIGKILLed mid-step, on a Redis server the test starts) alone. mysqlclient builds against Debian's
# libmariadb-dev (installed here with apt when missing); the server's time zone tables are loaded
# when empty (without them __date lookups and the admin's date hierarchy find nothing under USE_TZ).
MYSQL := mysql -h 127.0.0.1 -P 3306 -u root
mariadb-ready: $(STAMP)
	@pkg-config --exists libmariadb 2>/dev/null || { echo "==> installing Debian's libmariadb-dev for mysqlclient"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq libmariadb-dev pkg-config >/dev/null; }
	@$(BIN)/python -c "import MySQLdb" 2>/dev/null || $(BIN)/python -m pip install -q "mysqlclient>=2.2" $(LOGGED)
	@test "$$($(MYSQL) -N -e 'SELECT COUNT(*) FROM mysql.time_zone_name')" != 0 || \
	  { echo "==> loading MariaDB's time zone tables"; mysql_tzinfo_to_sql /usr/share/zoneinfo 2>/dev/null | $(MYSQL) mysql; }

test-mariadb: mariadb-ready
	files="$$($(BIN)/python -m tests.tiers mariadb)" && \
	  SLASHML_TEST_TIER=mariadb $(BIN)/pytest $(XDIST) -p no:cacheprovider -m "not reliability" $$files && \
	  SLASHML_TEST_TIER=mariadb $(BIN)/pytest -p no:cacheprovider -m reliability $$files

# Where none of the optional extras is installed: the base install (the package with its queue,
# the celery extra, as docs/install.md's first line) and the test runner only (pytest,
# pytest-django, pytest-timeout). Not the whole suite again: the files of tests/tiers.py's
# NO_EXTRAS, where a missing extra changes what happens (tests that need one skip, naming it).
NO_EXTRAS := .venv-no-extras
$(NO_EXTRAS)/.installed-stamp: setup.cfg pyproject.toml
	rm -rf $(NO_EXTRAS)
	$(PYTHON) -m venv $(NO_EXTRAS)
	$(NO_EXTRAS)/bin/python -m pip install -q --no-compile --upgrade pip
	$(NO_EXTRAS)/bin/python -m pip install -q --no-compile -e ".[celery]" "pytest>=8" "pytest-django>=4.8" "pytest-timeout>=2.3"
	@touch $@

test-no-extras: $(NO_EXTRAS)/.installed-stamp
	@$(NO_EXTRAS)/bin/python -c "import importlib.util as u, sys; found = [m for m in ('av', 'pocketsphinx', 'boto3', \
	  'drf_spectacular', 'redis', 'moto', 'webvtt', 'playwright', 'prometheus_client', 'psycopg') if u.find_spec(m)]; \
	  sys.exit(f'not an environment without extras: {found}' if found else 0)"
	files="$$($(NO_EXTRAS)/bin/python -m tests.tiers no-extras)" && test -n "$$files" && \
	  SLASHML_TEST_WITHOUT_EXTRAS=1 $(NO_EXTRAS)/bin/pytest -p no:cacheprovider $$files

# What users install: the sdist and the wheel built once, each install line of the docs in a clean
# virtualenv outside the checkout (imported, migrated, checked), the README's steps to finished jobs
# with the README's line (from the wheel) and the base install (from the sdist). Needs Redis.
# The first test that needs the virtualenvs waits for all of them to install: hence the long timeout.
test-install: $(STAMP)
	SLASHML_TEST_TIER=install $(BIN)/pytest -p no:cacheprovider --timeout 900 tests/install

# Each supported Django x Python pair other than .venv's own (which the default and service tiers
# run): tests/tiers.py's MATRIX files, against PostgreSQL and Redis, in a virtualenv per pair.
MATRIX ?= 5.2:3.11 6.0:3.12 6.1:3.13
test-matrix: $(STAMP)
	$(BIN)/python -m tests.install.matrix $(MATRIX)

# Runs the reliability suite (PostgreSQL, Redis, RabbitMQ), then its MariaDB run, and rewrites the
# table in docs/reliability.md: each step replaces the rows of the runs it ran.
reliability-report: mariadb-ready
	SLASHML_TEST_TIER=services SLASHML_RELIABILITY_REPORT=1 $(BIN)/pytest -m reliability -p no:cacheprovider
	files="$$($(BIN)/python -m tests.tiers mariadb)" && \
	  SLASHML_TEST_TIER=mariadb SLASHML_RELIABILITY_REPORT=1 $(BIN)/pytest -m reliability -p no:cacheprovider $$files

# Benchmarks beside their baselines (PostgreSQL and Redis on 127.0.0.1; 12 to 20 minutes);
# rewrites docs/benchmarks.md. bench-quick is a smoke run of a few minutes that writes nothing;
# bench-smoke, the sections that take seconds, is what CI runs so the benchmarks keep working.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --write docs/benchmarks.md

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick --only uploads,throughput,api,compare,search --throughput-jobs 50 --api-jobs 2000 \
	  --search-jobs 2000 --search-sqlite-jobs 500 --search-repeat 3 --search-index-jobs 20

# A year of jobs at 1,000,000 and 4,000,000 rows in PostgreSQL, and at 1,000,000 in MariaDB and
# SQLite beside them (benchmarks/scale.py): each is generated once into a database of its own that
# later runs reuse (PostgreSQL's in minutes, the others through the ORM in about ten); then every
# admin page and API list is timed. Rewrites the scale section of docs/benchmarks.md.
bench-scale: mariadb-ready
	$(BIN)/python -m benchmarks.scale --sizes 1000000,4000000 --beside mariadb,sqlite --write docs/benchmarks.md

# The documentation site (mkdocs.yml): built with --strict, so a broken link or a page left out of
# the navigation fails; the site goes to site/. `$(BIN)/mkdocs serve` previews it.
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): $(STAMP)
	@echo "==> installing the docs extra (pip's output: $(INSTALL_LOG))"
	@$(BIN)/python -m pip install -e ".[docs]" $(LOGGED)
	@touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# What PyPI and its users get: the sdist and the wheel built into dist/ (the wheel from the sdist),
# their metadata and long description (twine), the wheel's files (check-wheel-contents, configured
# in pyproject.toml) and the packaging score (pyroma, 9 of 10 at least). Pyroma's AuthorEmail test is
# skipped: the project publishes no contact address, and none is made up for the score.
package-check: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >$(VENV)/build.log 2>&1 || { cat $(VENV)/build.log; exit 1; }
	$(BIN)/twine check --strict dist/*
	$(BIN)/check-wheel-contents dist/*.whl
	$(BIN)/pyroma --min 9 --skip-tests AuthorEmail dist/*.tar.gz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The translation template, django_slashml/locale/en/LC_MESSAGES/django.po, extracted again from the
# marked strings, and compiled (needs GNU gettext). tests/test_translations.py fails until it is rerun
# after a marked string changes (docs/translations.md).
messages: $(STAMP)
	cd django_slashml && $(abspath $(BIN))/django-admin makemessages --locale en --add-location=file
	cd django_slashml && $(abspath $(BIN))/django-admin compilemessages

# The whole pipeline on this machine: sandbox, worker, beat, web server, a first transcript.
# QUEUE=tasks: on Django's task framework instead (db_worker and the sweeper's loop, no broker).
demo: $(STAMP)
	@cd example_project && ../$(BIN)/python demo.py $(if $(QUEUE),--queue $(QUEUE))

sandbox: $(STAMP)
	$(BIN)/python -m django_slashml.sandbox --engine offline

clean:
	rm -rf $(VENV) $(NO_EXTRAS) .venv-matrix build dist site *.egg-info .pytest_cache example_project/.state
