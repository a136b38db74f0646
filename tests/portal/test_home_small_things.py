"""Small things a new user meets: /favicon.ico answers; the first start's .env keeps broker, queue and port."""

from __future__ import annotations

import os
import subprocess

from tests.portal.conftest import ROOT


def test_the_favicon_answers(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and "max-age=86400" in response["Cache-Control"]


def test_the_first_env_file_keeps_broker_queue_and_port_from_the_environment(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ROOT": str(tmp_path),
           "REDIS_URL": "redis://127.0.0.1:6379/9", "MOP_CELERY_QUEUE": "night-queue", "MOP_WEB_PORT": "8099"}
    subprocess.run(["bash", "-c", f"source {ROOT}/scripts/lib.sh; ensure_env_file"], env=env, check=True,
                   capture_output=True)
    lines = (tmp_path / ".env").read_text().splitlines()
    assert "REDIS_URL=redis://127.0.0.1:6379/9" in lines
    assert "MOP_CELERY_QUEUE=night-queue" in lines and "MOP_WEB_PORT=8099" in lines
    # Without them in the environment, the defaults are written.
    (tmp_path / ".env").unlink()
    env = {k: v for k, v in env.items() if k in ("PATH", "HOME", "ROOT")}
    subprocess.run(["bash", "-c", f"source {ROOT}/scripts/lib.sh; ensure_env_file"], env=env, check=True,
                   capture_output=True)
    lines = (tmp_path / ".env").read_text().splitlines()
    assert "MOP_CELERY_QUEUE=mop" in lines and "MOP_WEB_PORT=8000" in lines
    assert "REDIS_URL=redis://127.0.0.1:6379/0" in lines
