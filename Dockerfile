# One image, three roles: docker-compose.yml runs it as web (gunicorn),
# worker (celery worker) and beat (celery beat) with different commands.
FROM python:3.11-slim

# PYTHONPATH: run the source tree in /app rather than the installed copy, so
# settings find templates/ and examples/ next to the portal package.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    MOP_VAR_DIR=/app/var

# git: Alembic projects can be checked out from a repository. gcc, libc6-dev and
# libsqlite3-dev: the engine's two C helpers (setup.py) compile against SQLite.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git gcc libc6-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir migrations_ops portal \
 && touch migrations_ops/__init__.py portal/__init__.py \
 && pip install . \
 && pip uninstall -y migration-ops-portal \
 && rm -rf migrations_ops portal build ./*.egg-info

# Static files are collected at build time. Settings need these three
# variables to import; nothing connects anywhere.
# Editable, so the C helpers are built next to their sources in /app, where PYTHONPATH imports from.
COPY . .
RUN pip install --no-deps -e . \
 && python -c "import migrations_ops.copy._rowcodec, migrations_ops.verify._pghash" \
 && rm -rf build \
 && DJANGO_SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build@localhost/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 mop \
 && mkdir -p /app/var \
 && chown -R mop:mop /app/var
USER mop

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "-b", "0.0.0.0:8000", "-w", "2", "--timeout", "120"]
