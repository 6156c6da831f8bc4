"""Panels with covariates: learnable and coincident covariates, --cs-normalize, built-ins."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fincast.api import backtest
from fincast.cli import main
from fincast.data import load
from fincast.data.builtin import load_builtin
from fincast.data.covariates import covariate_features, load_covariates
from fincast.design import build_design
from fincast.errors import ConfigError, DataError
from fincast.features import FeatureSpec, cross_sectional
from fincast.tasks import TaskSpec

IDS = ("A", "B", "C", "D", "E")


def simulated_panel(n: int = 260, seed: int = 0, coincident: bool = False):
    """A 5-series panel and a per-series covariate ``x``.

    ``coincident=False``: ``x`` dated t is known at t and drives the return from t to t+1
    (``r(t+1) = 0.01 x(t) + noise``, half the variance). ``coincident=True``: ``x`` dated t
    is the return realised on t itself (it only coincides with the move, known once it
    has happened), which says nothing about the next one.
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    data, cov = [], []
    for sid in IDS:
        x = rng.normal(0.0, 1.0, n)
        noise = rng.normal(0.0, 0.01, n)
        if coincident:
            ret = noise
            x = ret / 0.01
        else:
            ret = np.r_[0.0, 0.01 * x[:-1]] + noise
        close = 100 * np.exp(np.cumsum(ret))
        data.append(pd.DataFrame({"date": dates, "ticker": sid, "close": close}))
        cov.append(pd.DataFrame({"date": dates, "ticker": sid, "x": x}))
    return pd.concat(data, ignore_index=True), pd.concat(cov, ignore_index=True)


def run(tmp_path, coincident: bool, models, **extra):
    data, cov = simulated_panel(coincident=coincident)
    data.to_csv(tmp_path / "panel.csv", index=False)
    cov.to_csv(tmp_path / "x.csv", index=False)
    result = backtest(
        str(tmp_path / "panel.csv"),
        models=models,
        baselines=["naive", "ridge"],
        folds=2,
        lookback=3,
        covariates=[{"path": str(tmp_path / "x.csv")}],
        out=str(tmp_path / "run"),
        **extra,
    )
    return {m: v["skill_vs_naive"] for m, v in result.metrics["models"].items()}


@pytest.mark.slow
def test_a_covariate_known_at_t_that_drives_the_next_return_is_found(tmp_path):
    nets = {"mlp": {"units": 8, "layers": 1}, "lstm": {"units": 4}}
    nets["cnn"] = {"filters": 4, "layers": 1}  # the sequence models read it in their windows
    skill = run(tmp_path, False, nets, epochs=15)
    assert all(skill[m] > 0.2 for m in ("ridge", "mlp", "lstm", "cnn")), skill


def test_a_covariate_that_only_coincides_with_the_return_gives_no_skill(tmp_path):
    skill = run(tmp_path, True, [])
    assert abs(skill["ridge"]) < 0.05, skill


def test_ridge_finds_the_driving_covariate_fast(tmp_path):
    assert run(tmp_path, False, [])["ridge"] > 0.2


def frame_of(values: np.ndarray, dates) -> pd.DataFrame:
    n_dates, n_ids = values.shape
    return pd.DataFrame(
        {
            "id": np.repeat([f"s{i}" for i in range(n_ids)], n_dates),
            "date": np.tile(dates, n_ids),
        }
    )


def test_cs_normalize_ranks_and_zscores_across_the_series_of_each_date():
    dates = pd.bdate_range("2021-01-04", periods=3)
    vals = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0], [np.nan, 1.0, 3.0, 2.0]])
    frame = frame_of(vals, dates)
    feats = pd.DataFrame({"f": vals.T.ravel(), "cal_dow": 1.0})
    ranked = cross_sectional(feats, frame, "rank", ("cal_dow",))
    got = ranked["f"].to_numpy().reshape(4, 3).T
    np.testing.assert_allclose(got[0], [-0.25, 0.0, 0.25, 0.5])
    np.testing.assert_allclose(got[1], [0.125] * 4)  # all tied: the mean rank
    assert np.isnan(got[2, 0])
    np.testing.assert_allclose(got[2, 1:], [1 / 3 - 0.5, 0.5, 2 / 3 - 0.5])
    assert (ranked["cal_dow"] == 1.0).all()
    z = cross_sectional(feats, frame, "zscore")["f"].to_numpy().reshape(4, 3).T
    np.testing.assert_allclose(z[0], (vals[0] - 2.5) / np.std(vals[0]))
    np.testing.assert_allclose(z[1], 0.0)
    np.testing.assert_allclose(z[2, 1:], (vals[2, 1:] - 2.0) / np.std(vals[2, 1:]))
    with pytest.raises(ConfigError, match="has 1 series"):
        cross_sectional(feats, frame.assign(id="one"), "rank")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cut=st.integers(5, 35), how=st.sampled_from(["rank", "zscore"]))
def test_cs_normalized_features_before_a_date_ignore_everything_after_it(seed, cut, how):
    data, cov = simulated_panel(n=40, seed=seed)
    changed = data.copy()
    dates = np.sort(data["date"].unique())
    later = changed["date"] > dates[cut]
    rng = np.random.default_rng(seed)
    changed.loc[later, "close"] *= rng.uniform(0.5, 2.0, int(later.sum()))
    xs = []
    for d in (data, changed):
        covs = load_covariates([{"path": cov}], list(IDS))
        design = build_design(
            load(d),
            TaskSpec("return", (1,)),
            FeatureSpec("default+calendar", 3),
            covariates=covs,
            cs_normalize=how,
            require_target=False,
        )
        xs.append((design.dates, design.X))
    (da, a), (db, b) = xs
    np.testing.assert_array_equal(da, db)
    before = da <= dates[cut]
    np.testing.assert_array_equal(a[before], b[before])
    assert not np.array_equal(a[~before], b[~before])


def test_cs_normalize_on_a_single_series_exits_2(capsys):
    code = main(["backtest", "builtin:sp500", "--cs-normalize", "rank", "--models", "ridge"])
    err = capsys.readouterr().err
    assert code == 2 and "1 series" in err and len(err.strip().splitlines()) == 1


def test_cs_normalize_on_a_panel_runs(tmp_path):
    assert run(tmp_path, False, [], cs_normalize="rank")["ridge"] > 0.1


def test_builtin_vix_and_cpi_are_covariates():
    ds = load("builtin:sp500")
    covs = load_covariates(
        ["builtin:vix", {"path": "builtin:cpi", "lag": "1M", "transform": "log_diff"}], ds.ids
    )
    assert [c.name for c in covs] == ["cov_vix", "cov_CPILFESL"]
    got = covariate_features(ds.frame, covs).set_index(ds.frame["date"])
    assert got.loc["2014-01-06", "cov_vix"] == 13.55 and np.isnan(got.loc["2014-01-02", "cov_vix"])
    # CPI for December 2017 (dated 2017-12-01) is usable from 2018-01-01 on, not before
    cpi = load_builtin("cpi").set_index("Date")["CPILFESL"]
    dec = np.log(cpi["2017-12-01"] / cpi["2017-11-01"])
    assert got.loc["2018-01-02", "cov_CPILFESL"] == pytest.approx(dec)
    assert got.loc["2017-12-29", "cov_CPILFESL"] != pytest.approx(dec)
    # as data too: arch's holiday rows without a value are no observation, not a gap
    assert len(load("builtin:vix").frame) == 1259 and len(load("builtin:wti").frame) == 8321


@pytest.mark.skipif(importlib.util.find_spec("skfolio") is None, reason="skfolio not installed")
def test_the_builtin_panel_is_20_stocks_in_long_form():
    ds = load("builtin:stocks20")
    assert len(ds.ids) == 20 and {"AAPL", "JPM", "XOM"} <= set(ds.ids)
    assert ds.target == "close" and ds.frame["date"].min() == pd.Timestamp("1990-01-02")


def test_a_missing_panel_package_names_the_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "skfolio" else real(name, *a)
    )
    with pytest.raises(DataError, match=r'pip install "fincast\[panel\]"'):
        load_builtin("stocks20")


def test_a_saved_model_remembers_its_covariates_and_predict_rebuilds_them(tmp_path, capsys):
    import json

    import fincast
    from fincast.persist import load_model

    data, cov = simulated_panel(n=120)
    data.to_csv(tmp_path / "panel.csv", index=False)
    cov.to_csv(tmp_path / "x.csv", index=False)
    entry = {"path": str(tmp_path / "x.csv"), "lag": 1, "transform": "diff"}
    path = fincast.train(
        str(tmp_path / "panel.csv"),
        out=str(tmp_path / "m"),
        models=["mlp"],
        epochs=2,
        lookback=3,
        covariates=[entry],
        cs_normalize="zscore",
    )
    info = json.loads((path / "fincast.json").read_text())
    assert info["covariates"] == [{"fillna": "error", **entry}] and info["cs_normalize"] == "zscore"
    assert info["feature_names"][-1] == "cov_x"
    forecast = fincast.predict(path, str(tmp_path / "panel.csv"))
    assert len(forecast) == 5 and "note" not in forecast.columns
    # the forecast equals the loaded model on the design rebuilt by hand
    model, _ = load_model(path)
    ds = load(str(tmp_path / "panel.csv"))
    design = build_design(
        ds,
        model.task,
        FeatureSpec("default", 3),
        require_target=False,
        covariates=load_covariates([entry], ds.ids),
        cs_normalize="zscore",
    )
    last = pd.Series(np.arange(len(design))).groupby(design.ids).max().to_numpy()
    np.testing.assert_allclose(
        forecast["forecast"].to_numpy(), model.predict(design.batch(last))[:, 0], rtol=1e-5
    )
    # lag 1: the covariate file may end one row before the data, not two
    cov[cov["date"] < cov["date"].max()].to_csv(tmp_path / "x.csv", index=False)
    assert len(fincast.predict(path, str(tmp_path / "panel.csv"))) == 5
    short = cov[cov["date"] < sorted(cov["date"].unique())[-2]]
    short.to_csv(tmp_path / "x.csv", index=False)
    code = main(["predict", "--model", str(path), "--data", str(tmp_path / "panel.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "update the covariate file" in err and "x.csv" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="DataFrame"):
        fincast.train(
            str(tmp_path / "panel.csv"), out=str(tmp_path / "m2"), covariates=[{"path": cov}]
        )


def test_coverage_of_a_monthly_covariate_with_a_publication_lag():
    from fincast.data.covariates import check_coverage

    dates = pd.bdate_range("2021-01-01", "2021-06-30")
    data = pd.DataFrame({"id": "A", "date": dates})
    monthly = pd.DataFrame({"date": pd.date_range("2020-06-01", "2021-04-01", freq="MS"), "c": 1.0})
    covs = load_covariates([{"path": monthly, "lag": "1M"}], ["A"])
    # April's value is published 1 May; May's (due 1 June) is missing from the file
    check_coverage(covs, data, pd.Series({"A": pd.Timestamp("2021-05-31")}))
    with pytest.raises(
        DataError, match=r"needs its value of 2021-05-01, available from 2021-06-01"
    ):
        check_coverage(covs, data, pd.Series({"A": pd.Timestamp("2021-06-01")}))


def test_a_dataframe_covariate_runs_and_config_yaml_names_it_by_hash(tmp_path, capsys):
    import yaml

    from fincast.config import build_config
    from fincast.errors import RunError
    from fincast.rundir import check_resume

    data, cov = simulated_panel(n=120)
    data.to_csv(tmp_path / "panel.csv", index=False)
    options = {"data": str(tmp_path / "panel.csv"), "models": [], "baselines": ["naive", "ridge"]}
    options |= {"folds": 2, "lookback": 3, "out": str(tmp_path / "run")}
    result = backtest(**{**options, "covariates": [cov]})  # a bare DataFrame is a table
    assert result.metrics["models"]["ridge"]["skill_vs_naive"] > 0.2
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["covariates"]
    assert len(saved) == 1 and saved[0]["path"].startswith("<DataFrame 600x3 sha256:")
    check_resume(tmp_path / "run", build_config({**options, "covariates": [{"path": cov}]}))
    with pytest.raises(RunError, match="covariates"):
        check_resume(tmp_path / "run", build_config({**options, "covariates": [cov.iloc[:-1]]}))
    config = str(tmp_path / "run" / "config.yaml")
    code = main(["backtest", "--config", config, "--out", str(tmp_path / "again")])
    err = capsys.readouterr().err
    assert code == 2 and "was a Python DataFrame" in err and len(err.strip().splitlines()) == 1


def _vol_panel(tmp_path) -> str:
    data, _ = simulated_panel(n=200)
    path = tmp_path / "panel.csv"
    data.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--task", "volatility", "--baselines", "naive,ridge,garch,har"], "garch, har"),
        (["--task", "volatility"], "ewma, garch"),  # the task's default baselines
        (["--baselines", "naive,ar", "--cs-normalize", "zscore"], "ar"),
        (["--task", "quantile", "--models", "fhs", "--baselines", "naive"], "fhs"),
    ],
)
def test_cs_normalize_refuses_models_that_read_the_return_features_as_returns(
    tmp_path, capsys, args, named
):
    """Ranked or z-scored return features are no returns: GARCH on ranks scored -213 on a
    builtin:stocks20 volatility run before this was refused."""
    out = tmp_path / "run"
    argv = ["backtest", _vol_panel(tmp_path), "--folds", "2", *args]
    if "--models" not in argv:
        argv += ["--models", "ridge"]
    if "--cs-normalize" not in argv:
        argv += ["--cs-normalize", "rank"]
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"but {named} read them as returns" in err and "--cs-normalize" in err
    assert not out.exists()  # refused before any work


def test_cs_normalize_refuses_a_volatility_networks_loghar_input_unless_turned_off(tmp_path):
    from fincast.errors import ConfigError

    path = _vol_panel(tmp_path)
    common = dict(task="volatility", baselines=["naive", "ridge"], folds=2, epochs=1)
    with pytest.raises(
        ConfigError,
        match=r"mlp through the log-HAR and latent-har inputs.*har_input: false, latent_input: false",
    ):
        backtest(path, models=["mlp"], cs_normalize="rank", out=str(tmp_path / "a"), **common)
    # one input left on is still refused: latent-har reads returns too
    with pytest.raises(ConfigError, match="latent-har inputs"):
        backtest(
            path,
            models={"mlp": {"har_input": False}},
            cs_normalize="rank",
            out=str(tmp_path / "c"),
            **common,
        )
    assert not (tmp_path / "c").exists()
    result = backtest(
        path,
        models={"mlp": {"har_input": False, "latent_input": False}},
        cs_normalize="rank",
        out=str(tmp_path / "b"),
        **common,
    )
    assert "mlp" in result.metrics["models"]
    # the return task's networks read no returns: they run with --cs-normalize as before
    ok = backtest(path, models=["mlp"], cs_normalize="rank", folds=2, epochs=1, out=None)
    assert "mlp" in ok.metrics["models"]
    # fincast train refuses it too, before reading the data
    import fincast

    with pytest.raises(ConfigError, match="log-HAR and latent-har inputs"):
        fincast.train(
            path, out=str(tmp_path / "m"), models=["mlp"], task="volatility", cs_normalize="rank"
        )
    assert not (tmp_path / "m").exists()


def test_predict_refuses_a_model_saved_with_cs_normalize_that_reads_returns(tmp_path, capsys):
    """A volatility network saved with --cs-normalize before train refused the pair would
    read ranked returns as returns in its log-HAR or latent-har input: predict refuses it
    (exit 2)."""
    import json

    import fincast
    from fincast.errors import ModelError

    path = _vol_panel(tmp_path)
    saved = fincast.train(
        path, out=str(tmp_path / "m"), models=["mlp"], task="volatility", epochs=1
    )
    assert len(fincast.predict(saved, path)) == 5  # without --cs-normalize it predicts
    meta = saved / "fincast.json"
    info = json.loads(meta.read_text())
    assert info["cs_normalize"] == "none"
    info["cs_normalize"] = "rank"  # as such a model was saved before the refusal
    meta.write_text(json.dumps(info))
    with pytest.raises(
        ModelError, match=r"--cs-normalize rank.*har_input: false, latent_input: false"
    ):
        fincast.predict(saved, path)
    out = tmp_path / "forecast.csv"
    code = main(["predict", "--model", str(saved), "--data", path, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "retrain it" in err, err
    assert not out.exists()
    # the plain input reads no returns: such a model predicts as before
    plain = fincast.train(
        path,
        out=str(tmp_path / "p"),
        models={"mlp": {"har_input": False, "latent_input": False}},
        task="volatility",
        epochs=1,
        cs_normalize="rank",
    )
    assert len(fincast.predict(plain, path)) == 5
