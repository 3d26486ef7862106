"""The Ray executor's command-line edges, without a Ray cluster: the local path never imports
Ray, a missing Ray is one clear line, and endpoint lists are checked before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from network_helpers import scripted_teacher

from foveate_dspy.compile import main as compile_main
from loopback import LoopbackServer

LOCAL_RUN = """
import sys
from foveate_dspy.compile import main
status = main(sys.argv[1:])
assert status == 0, status
assert "ray" not in sys.modules, "the local executor imported Ray"
print("no ray")
"""


def test_a_local_run_never_imports_ray(tmp_path: Path, shared_data: Path, repo_root: Path) -> None:
    with LoopbackServer(respond=scripted_teacher, max_seconds=120) as server:
        args = [
            "--corpus", str(shared_data / "squad11_dev_small100.jsonl"), "--limit", "2", "--n-per-level", "2",
            "--teacher", "openai/loopback", "--api-base", server.url, "--out", str(tmp_path / "run"), "--quiet",
        ]  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", LOCAL_RUN, *args],
            cwd=repo_root, env={**os.environ, "OPENAI_API_KEY": "sk-loopback-dummy"}, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert server.snapshot()["requests"] > 0
    assert result.returncode == 0, result.stderr
    assert "no ray" in result.stdout


def test_asking_for_ray_without_ray_installed_is_one_clear_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    status = compile_main(["--corpus", "unused.jsonl", "--out", str(tmp_path / "run"), "--executor", "ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and "pip install 'foveate-dspy[ray]'" in err[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--api-base", "http://a:8000/v1", "--api-base", "http://b:8000/v1"], "need --executor ray"),
        (["--api-base", "http://a:8000/v1=8"], "need --executor ray"),
        (["--api-base", "http://a:8000/v1=0"], "must be >= 1"),
        (["--api-base", "a-host:8000"], "expected an http(s) URL"),
        (["--ray-workers", "2"], "need --executor ray"),
        (["--executor", "ray", "--ray-batch-size", "0"], "--ray-batch-size must be >= 1"),
    ],
)
def test_endpoint_and_executor_mistakes_are_refused_before_any_work(tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    status = compile_main(["--corpus", "unused.jsonl", "--teacher", "openai/gpt-4o-mini", "--out", str(tmp_path / "run"), *extra])
    assert status == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
