"""JAX's persistent compilation cache: compiled once per machine, the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fincast import _backend

# a backtest in a fresh process that counts the compiled programs read from the cache
_RUN = """
import json, sys
import fincast
import jax
events = []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
fincast.backtest(sys.argv[1], out=sys.argv[2], models={"seed-mlp": {"epochs": 2}}, folds=2)
count = lambda name: sum(e == "/jax/compilation_cache/" + name for e in events)
print(json.dumps({"hits": count("cache_hits"), "requests": count("compile_requests_use_cache")}))
"""


def test_the_cache_lives_under_the_users_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _backend.compilation_cache_dir() == tmp_path / "fincast" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _backend.compilation_cache_dir() == Path.home() / ".cache" / "fincast" / "jax"


def _backtest(csv: Path, out: Path, env: dict[str, str]) -> tuple[int, int]:
    """(programs read from the cache, programs JAX compiled or read) of a run."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(csv), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    return int(counts["hits"]), int(counts["requests"])


@pytest.mark.slow
def test_a_run_from_a_warm_cache_writes_the_bytes_of_a_cold_one(tmp_path, ohlcv_csv):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache-home")
    env["PYTHONWARNINGS"] = "error::UserWarning"  # an unreadable cache entry would warn
    hits, requests = _backtest(ohlcv_csv, tmp_path / "cold", env)
    assert hits == 0 and requests > 0
    cache = tmp_path / "cache-home" / "fincast" / "jax"
    assert any(cache.iterdir()), "the training loop was not cached"
    # every program is read back, the small ones (weight initialisers) too: none compiled.
    # How many programs a run asks for can differ by one between runs (a CI run asked for
    # 21 cold and 20 warm, every one of the 20 read back; five cold runs here asked for 20
    # each), so the warm run is held to "all read back", near the cold run's count
    warm_hits, warm_requests = _backtest(ohlcv_csv, tmp_path / "warm", env)
    assert warm_hits == warm_requests and requests - 2 <= warm_requests <= requests + 2
    for name in ("predictions.csv", "metrics.json"):
        assert (tmp_path / "cold" / name).read_bytes() == (tmp_path / "warm" / name).read_bytes()


def test_an_empty_or_own_cache_directory_is_respected():
    code = "import fincast._backend, jax; print(repr(jax.config.jax_compilation_cache_dir))"
    for value, expected in (("", "''"), ("/somewhere/else", "'/somewhere/else'")):
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert out.stdout.strip() == expected, out.stderr
