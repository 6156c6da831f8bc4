"""The run configuration: every option of a run declared once, validated, YAML in and out.

Each key of :class:`RunConfig` is declared here once, with its type, default, constraint,
help text and section (:data:`SECTIONS`). The flags of ``fincast backtest``, ``train`` and
``tune`` are generated from these declarations (``fincast.cli_options``), the YAML keys are
the field names, and the docs' options table is checked against them by a test.
Flags override the file.
"""

from __future__ import annotations

import difflib
import itertools
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from .errors import ConfigError

__all__ = ["SECTIONS", "RunConfig", "build_config", "load_config", "option_info"]

#: The sections options are grouped in, in the order help and the options reference show them.
SECTIONS = ("data", "task", "features", "models", "training", "folds", "execution")


def option(
    default: Any = None,
    help: str = "",
    *,
    section: str,
    shown: str | None = None,
    metavar: str | None = None,
    unit: str | None = None,
    repeatable: bool = False,
    **constraints: Any,
) -> Any:
    """Declare a configuration key: default, help text, section and constraints.

    ``shown`` is how help describes the default when the default value alone does not
    (``None`` meaning "detected", "by task"…); ``metavar`` names the flag's value; ``unit``
    names what a number counts in errors ("steps").
    """
    if section not in SECTIONS:  # pragma: no cover - a typo in a declaration below
        raise ValueError(f"unknown section {section!r}")
    extra: dict[str, Any] = {"section": section, "shown": shown, "metavar": metavar}
    if unit is not None:
        extra["unit"] = unit
    if repeatable:  # the flag may be given several times (a list of texts)
        extra["repeatable"] = True
    if callable(default):
        return Field(
            default_factory=default, description=help, json_schema_extra=extra, **constraints
        )
    return Field(default, description=help, json_schema_extra=extra, **constraints)


def yaml_mapping(text: str) -> dict[str, Any]:
    """A YAML (or JSON) mapping given as text, e.g. ``'{units: [16, 32]}'``.

    Raises
    ------
    ValueError
        Saying what is wrong (``is not valid YAML: …`` or ``must be a mapping like …``);
        callers prefix the flag or key it came from.
    """
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(value, dict):
        raise ValueError(
            f"must be a mapping like '{{lr: {{low: 1.0e-4, high: 1.0e-2}}}}', got {text!r}"
        )
    return value


def option_info(name: str) -> dict[str, Any]:
    """The declaration of key ``name``: help, section, shown default, metavar."""
    field = RunConfig.model_fields[name]
    extra = dict(field.json_schema_extra or {})  # type: ignore[arg-type]
    return {"help": field.description or "", **extra}


class RunConfig(BaseModel):
    """A fully resolved run configuration.

    Keys are read flat (``config.lr``, ``config.task``); :meth:`section` gives a whole
    section as a mapping (``config.section("training")`` is what every network receives).
    ``models`` maps each model name to its hyperparameters (an empty mapping for the
    defaults); a list of names is accepted too. ``events`` is a list like
    ``[{name: up1, above: 0.01}, {name: big, abs_above_std: 2}]``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # -- data --------------------------------------------------------------------------
    data: str = option(
        "builtin:sp500",
        "CSV or Parquet file, or builtin:NAME (see `fincast datasets`).",
        section="data",
    )
    date_col: str | None = option(
        None, "Name of the date column.", section="data", shown="detected"
    )
    id_col: str | None = option(
        None, "Name of the series id column (panels).", section="data", shown="detected"
    )
    target: str | None = option(
        None,
        "Column to forecast.",
        section="data",
        shown="adjusted close, else close, else the only numeric column",
    )
    fillna: Literal["error", "ffill", "drop"] = option(
        "error",
        "Missing or infinite values in the needed columns: error, ffill or drop.",
        section="data",
    )
    sep: str | None = option(
        None, "CSV column separator.", section="data", shown="sniffed among , ; tab |"
    )
    decimal: Literal[".", ","] | None = option(
        None,
        "CSV decimal mark: . or , .",
        section="data",
        shown="whichever reads more numeric columns",
    )
    thousands: str | None = option(
        None,
        "CSV thousands separator, e.g. , in 1,234.5.",
        section="data",
        shown=". or space after a decimal comma when that reads more numeric columns, else none",
    )
    wide: bool | None = option(
        None,
        "The table is wide: a date column plus one column per series (a panel); --no-wide "
        "never reads it so.",
        section="data",
        shown="detected when unambiguous: no id column, several numeric columns, none an "
        "OHLCV field, no --target",
    )
    values: Literal["prices", "returns"] = option(
        "prices",
        "What the target (every column of a wide table) holds: prices, or simple returns "
        "(0.01 = 1%; read as a price index from 100, so level tasks are refused).",
        section="data",
    )
    calendar: str | None = option(
        None,
        "Exchange calendar of the data (exchange_calendars code: XNYS, XLON, XTKS…): predict "
        "dates forecasts on its next trading sessions; none: the data's business days.",
        section="data",
        shown="business days inferred from the data; builtin:sp500/nasdaq: XNYS",
        metavar="CODE",
    )
    strict: bool = option(
        False,
        "Data health: a data finding (split, spike, stale run…) is an error, not a warning.",
        section="data",
    )
    adjust_splits: bool = option(
        False,
        "Data health: apply the detected splits to the price history before the run (the "
        "file is not modified).",
        section="data",
    )
    max_move: float = option(
        0.5,
        "Data health: report one-step price moves with |log return| above this.",
        section="data",
        gt=0,
    )
    stale_run: int = option(
        10,
        "Data health: report this many identical consecutive prices (or zero volumes).",
        section="data",
        ge=2,
    )

    # -- task --------------------------------------------------------------------------
    task: str = option(
        "return",
        "What to forecast: return, level, direction, trend3, events, volatility, quantile or var.",
        section="task",
    )
    horizon: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = option(
        lambda: [1],
        "Steps ahead to forecast, e.g. 1 or 1,5,20 (one output per horizon).",
        section="task",
        shown="1",
        unit="steps",
    )
    flat_band: float = option(
        0.25,
        "trend3: the flat class is |r| <= this many training standard deviations.",
        section="task",
        ge=0,
    )
    events: list[dict[str, Any]] | None = option(
        None,
        "events: NAME:RULE=VALUE,… e.g. up1:above=0.01,big:abs_above_std=2 (rules: above, "
        "below, abs_above, above_std, below_std, abs_above_std).",
        section="task",
        shown="up 1%, down 1%, |move| > 2 sd",
    )
    vol_estimator: Literal[
        "close", "parkinson", "garman-klass", "rogers-satchell", "yang-zhang", "realized"
    ] = option(
        "close",
        "volatility: the per-step variance: close (squared log returns), parkinson (high/low "
        "range), garman-klass, rogers-satchell (open/high/low/close), yang-zhang (adds the "
        "overnight return) or realized (the data's rv column, one row per session).",
        section="task",
    )
    transform: Literal["auto", "log", "diff"] = option(
        "auto",
        "level: steps of the target as log changes or plain differences: auto (logs of a "
        "price column, differences of any other), log or diff.",
        section="task",
    )
    quantiles: list[float] = option(
        lambda: [0.01, 0.05, 0.5, 0.95],
        "quantile: quantile levels of the h-step log return, increasing, each in (0, 1).",
        section="task",
        shown="0.01,0.05,0.5,0.95",
    )
    alpha: list[float] = option(
        lambda: [0.01, 0.05],
        "var: tail levels of VaR and ES (0.01 is the 99 % VaR), increasing, each in (0, 1).",
        section="task",
        shown="0.01,0.05",
    )
    position: Literal["long", "short"] = option(
        "long",
        "var: the position whose losses VaR and ES measure (short: losses are rises).",
        section="task",
    )
    intervals: list[float] | None = option(
        None,
        "return, level, volatility: prediction intervals at these nominal coverages, e.g. "
        "0.8,0.95 (conformal, calibrated on each fold's validation tail; lo_/hi_ columns; "
        "train: split conformal on the data's tail, kept for predict).",
        section="task",
        shown="none",
        metavar="LEVELS",
    )
    interval_method: Literal["aci", "split"] = option(
        "aci",
        "--intervals: aci (adaptive conformal, updated as each test outcome becomes known) "
        "or split (split conformal, fixed per fold); both start from the fold's validation "
        "tail.",
        section="task",
    )
    cost_bps: float = option(
        5.0,
        "Transaction cost per side of the trading rule, in basis points.",
        section="task",
        ge=0,
    )
    portfolio: str = option(
        "quantile:5",
        "Panels of >= 5 series: the report's cross-sectional portfolio, quantile:Q (long the "
        "top 1/Q of the series, short the bottom) or topk:K, optionally followed by "
        ":forecast for forecast weights.",
        section="task",
    )

    # -- features ----------------------------------------------------------------------
    lookback: int = option(
        20, "Past steps the features look at.", section="features", unit="steps", ge=1
    )
    features: str = option(
        "default",
        "Feature set: default (stationary) or raw; +calendar (alone: default+calendar) adds "
        "day of week, month, days to month end and XNYS sessions and holidays.",
        section="features",
    )
    series_embedding: bool = option(
        False,
        "Panels: give the model the series identity (one 0/1 input per series) as an input.",
        section="features",
    )
    cs_normalize: Literal["none", "rank", "zscore"] = option(
        "none",
        "Panels: each feature ranked (rank) or z-scored (zscore) across the series of each "
        "date, the usual input of cross-sectional models; none keeps them as they are.",
        section="features",
    )
    covariates: list[dict[str, Any]] | None = option(
        None,
        "Extra series joined as of each row's date (repeatable): FILE or "
        "FILE,lag=N|1M,by=id|global,transform=level|diff|log_diff|zscore; in YAML a list of "
        "{path, lag, by, transform, columns}.",
        section="features",
        shown="none",
        metavar="FILE[,lag=…]",
        repeatable=True,
    )

    # -- models ------------------------------------------------------------------------
    models: dict[str, dict[str, Any]] = option(
        lambda: {"mlp": dict[str, Any]()},
        "Comma-separated models (see `fincast models`); hyperparameters go in the config "
        "file. train fits one model; tune tunes the first network.",
        section="models",
        shown="mlp",
    )
    baselines: list[str] | None = option(
        None,
        "Comma-separated baselines (naive always runs).",
        section="models",
        shown="the task's set",
    )
    seeds: int = option(
        1,
        "Train each network with N seeds: metrics as mean ± sd, plus a NAME-ensemble of the "
        "seed-averaged forecast.",
        section="models",
        ge=1,
    )
    search_space: dict[str, Any] | None = option(
        None,
        "tune: search space as a YAML/JSON mapping, parameter -> {low, high[, log, step]}, a "
        "list of choices or a fixed value, e.g. '{lr: {low: 1e-4, high: 1e-2, log: true}, "
        "units: [16, 32]}'.",
        section="models",
        shown="the model's default space",
    )

    # -- training (every network receives this section as a whole) ----------------------
    epochs: int = option(
        100, "Training epochs (with --patience: the maximum).", section="training", ge=1
    )
    batch_size: int = option(32, "Minibatch size.", section="training", ge=1)
    lr: float = option(0.001, "Learning rate.", section="training", gt=0)
    optimizer: str = option(
        "adam",
        "adam, sgd, momentum, rmsprop or gd (full-batch gradient descent).",
        section="training",
    )
    loss: str | None = option(
        None,
        "mse, mae, huber, qlike (volatility), binary_crossentropy, categorical_crossentropy or "
        "pinball (quantile, var).",
        section="training",
        shown="by task",
    )
    dropout: float = option(
        0.0, "Dropout rate after hidden layers.", section="training", ge=0, lt=1
    )
    l1: float = option(0.0, "L1 kernel penalty.", section="training", ge=0)
    l2: float = option(0.0, "L2 kernel penalty.", section="training", ge=0)
    patience: int | None = option(
        None,
        "Early stopping: epochs without a better validation loss; the earliest epoch within "
        "the model's stop_se (default 0.5) standard errors of the lowest validation loss (or "
        "the starting linear model) is restored; 0 turns it off.",
        section="training",
        shown="10 for the networks, off for seed-mlp",
        ge=0,
    )
    val_fraction: float = option(
        0.2,
        "Share of each training fold's last dates held out (after a gap of the horizon, never "
        "the test block) as the validation tail: early stopping scores its first half, "
        "shrinkage is fitted on its second half.",
        section="training",
        gt=0,
        lt=0.5,
    )
    shrink: bool = option(
        True,
        "Shrink each network's forecast toward the task's naive forecast (class tasks: the "
        "training class frequencies) with a weight in [0, 1] fitted on the validation tail.",
        section="training",
    )

    # -- folds -------------------------------------------------------------------------
    folds: int = option(5, "Walk-forward test blocks.", section="folds", ge=1)
    window: Literal["expanding", "rolling"] = option(
        "expanding", "Training window: expanding or rolling (needs --train-size).", section="folds"
    )
    train_size: int | None = option(
        None, "Dates per rolling training window.", section="folds", shown="–", ge=1
    )
    test_size: int | None = option(
        None, "Dates per test block.", section="folds", shown="dates / (folds + 1)", ge=1
    )
    gap: int | None = option(
        None,
        "Dates left out between training and test (at least the horizon).",
        section="folds",
        shown="the horizon",
        ge=0,
    )

    # -- execution ---------------------------------------------------------------------
    seed: int = option(
        0,
        "Random seed: the same command and seed give byte-identical predictions.",
        section="execution",
    )
    out: str | None = option(
        None,
        "Output directory: the run directory (backtest, tune) or the model directory (train).",
        section="execution",
        shown="runs/<timestamp>-<dataset>; train: model",
    )
    executor: Literal["local", "ray"] = option(
        "local",
        "Where the (model, fold) work units run: local or ray; results are identical.",
        section="execution",
    )
    workers: int | None = option(
        None,
        "Local processes (1: this process) or CPUs of a local Ray cluster.",
        section="execution",
        shown="1",
        ge=1,
    )
    threads: int | None = option(
        None,
        "Units trained at once on threads of this process (with --workers 1); tune: a "
        "trial's inner folds.",
        section="execution",
        shown="one per core",
        ge=1,
    )
    ray_address: str | None = option(
        None,
        "Join this Ray cluster (e.g. auto or ray://head:10001) instead of starting one.",
        section="execution",
        shown="–",
    )

    def reader_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`fincast.data.load` this configuration sets."""
        keys: tuple[str, ...] = ("date_col", "id_col", "target", "fillna", "sep", "decimal")
        keys += ("thousands", "wide", "values")
        return {k: getattr(self, k) for k in keys}

    def section(self, name: str) -> dict[str, Any]:
        """The keys of section ``name`` (one of :data:`SECTIONS`) and their values."""
        if name not in SECTIONS:
            raise ConfigError(
                f"unknown config section {name!r}; expected one of {', '.join(SECTIONS)}"
            )
        return {
            k: getattr(self, k)
            for k in type(self).model_fields
            if option_info(k)["section"] == name
        }

    @field_validator("search_space", mode="before")
    @classmethod
    def _search_space_from_text(cls, value: Any) -> Any:
        """``--search-space '{units: [16, 32]}'``: a YAML (or JSON) mapping as text."""
        return value if not isinstance(value, str) else yaml_mapping(value)

    @field_validator("models", mode="before")
    @classmethod
    def _models_as_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list | tuple):
            return {str(v): {} for v in value}
        if isinstance(value, dict):
            return {str(k): (v or {}) for k, v in value.items()}
        return value

    @field_validator("events", mode="before")
    @classmethod
    def _events_from_text(cls, value: Any) -> Any:
        """``--events up1:above=0.01,big:abs_above_std=2`` as the config's list of mappings."""
        if not isinstance(value, str):
            return value
        out = []
        for item in (v.strip() for v in value.split(",") if v.strip()):
            name, _, rule = item.partition(":")
            key, _, threshold = rule.partition("=")
            if not (name.strip() and key.strip() and threshold.strip()):
                raise ValueError(
                    f"expected events like up1:above=0.01,down1:below=-0.01, got {item!r}"
                )
            try:
                number = float(threshold)
            except ValueError:
                raise ValueError(
                    f"event {name!r}: threshold must be a number, got {threshold!r}"
                ) from None
            out.append({"name": name.strip(), key.strip(): number})
        return out

    @field_validator("intervals", mode="before")
    @classmethod
    def _intervals_list(cls, value: Any) -> Any:
        """``--intervals 0.8,0.95``: nominal coverages in (0, 1), increasing, no repeats."""
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = [float(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ValueError(f"expected levels like 0.8,0.95, got {value!r}") from None
        if isinstance(value, int | float):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError(f"expected levels like 0.8,0.95, got {value!r}")
        levels = [float(v) for v in value]
        bad = [v for v in levels if not 0.0 < v < 1.0]
        if bad:
            raise ValueError(
                f"interval level {bad[0]:g} is outside (0, 1); pass coverages like 0.8,0.95"
            )
        if any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(
                f"interval levels must increase without repeats, got {value!r}; "
                f"pass e.g. {','.join(f'{v:g}' for v in sorted(set(levels)))}"
            )
        return levels

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizon_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ValueError(
                    f"expected whole numbers like 1 or 1,5,20, got {value!r}"
                ) from None
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("quantiles", "alpha", mode="before")
    @classmethod
    def _levels_list(cls, value: Any) -> Any:
        """``0.01,0.05`` as a list of numbers."""
        if isinstance(value, str):
            try:
                return [float(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ValueError(f"expected numbers like 0.01,0.05, got {value!r}") from None
        if isinstance(value, int | float):
            return [value]
        return value

    @field_validator("quantiles", "alpha")
    @classmethod
    def _levels_valid(cls, value: list[float], info: Any) -> list[float]:
        from .tasks.quantile import check_levels

        try:
            check_levels(value, f"--{info.field_name}")
        except ConfigError as exc:
            raise ValueError(str(exc).split(": ", 1)[-1]) from None
        return value

    @field_validator("covariates", mode="before")
    @classmethod
    def _covariates_list(cls, value: Any) -> Any:
        """``FILE`` or ``FILE,lag=1M,transform=diff`` (one or a list) as mappings."""
        if value is None:
            return None
        items = value if isinstance(value, list | tuple) else [value]
        out = []
        for item in items:
            if _is_frame(item):  # Python: a DataFrame is a covariate table
                item = {"path": item}
            if isinstance(item, str):
                path, *pairs = [p.strip() for p in item.split(",")]
                entry: dict[str, Any] = {"path": path}
                for pair in pairs:
                    key, sep, val = pair.partition("=")
                    if not sep or not key.strip():
                        raise ValueError(
                            f"expected FILE,lag=1,transform=diff (key=value pairs), got {item!r}"
                        )
                    entry[key.strip()] = val.strip()
                item = entry
            if isinstance(item, dict):
                lag = str(item.get("lag", 0)).strip()
                if lag.startswith("-"):
                    raise ValueError(
                        f"covariate {item.get('path')!r}: lag {lag} is negative, which would "
                        "use values before they are published; use a lag >= 0"
                    )
            out.append(item)
        return out

    @field_serializer("covariates", when_used="json")
    def _covariates_json(self, value: list[dict[str, Any]] | None) -> Any:
        """A DataFrame covariate is written to config.yaml as a description with its hash."""
        if value is None:
            return None
        return [
            {**e, "path": _describe_frame(e["path"])} if _is_frame(e.get("path")) else e
            for e in value
        ]

    @field_validator("portfolio")
    @classmethod
    def _portfolio_spec(cls, value: str) -> str:
        match = re.fullmatch(r"(quantile|topk):(\d+)(:equal|:forecast)?", value.strip())
        if not match or int(match[2]) < (2 if match[1] == "quantile" else 1):
            raise ValueError(
                "expected quantile:Q (Q >= 2) or topk:K (K >= 1), optionally followed by "
                ":forecast, e.g. quantile:5"
            )
        return value.strip()

    @field_validator("baselines", mode="before")
    @classmethod
    def _baselines_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _returns_have_no_level(self) -> RunConfig:
        if self.values == "returns" and self.task == "level":
            raise ValueError(
                "--task level forecasts the price level, which a table of returns does not "
                "have (fincast reads it as an index from 100); use --task return, direction, "
                "trend3, events or volatility, or pass prices with --values prices"
            )
        return self

    def to_yaml(self) -> str:
        """The configuration as YAML that :func:`load_config` reads back identically."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _is_frame(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def _describe_frame(frame: Any) -> str:
    """``<DataFrame 1259x2 sha256:…>``: what config.yaml says of a Python covariate table."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return f"<DataFrame {frame.shape[0]}x{frame.shape[1]} sha256:{digest.hexdigest()[:16]}>"


#: pydantic's bound errors and how to say them.
_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}


def _range(name: str) -> str | None:
    """A key's numeric constraint in words, e.g. ``in [0, 1)`` or ``>= 1``."""
    field = RunConfig.model_fields.get(name)
    if field is None:
        return None
    bounds = {
        k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)
    }
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds else None
    high = (
        ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds else None
    )
    if low and high:
        return f"in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"{'<=' if high[0] == ']' else '<'} {high[1]}"
    return None


def _whole(annotation: Any) -> bool:
    """True when a key holds whole numbers (``int``, ``int | None``, ``list[int]``…)."""
    return annotation is int or any(_whole(a) for a in typing.get_args(annotation))


def _explain(exc: ValidationError, where: str) -> ConfigError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    if not key.isprintable():  # a key with a newline or tab: show it escaped, on one line
        key = repr(key)[1:-1]
    root = str(err["loc"][0]) if err["loc"] else key
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), RunConfig.model_fields, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return ConfigError(f"{where}: unknown key `{key}`{hint}")
    if err["type"] in _BOUNDS:
        ctx = err.get("ctx") or {}
        bound, sign = _BOUNDS[err["type"]]
        wanted = (_range(root) if len(err["loc"]) == 1 else None) or f"{sign} {ctx.get(bound)}"
        field = RunConfig.model_fields.get(root)
        if field is not None and _whole(field.annotation):
            unit = option_info(root).get("unit")
            wanted = f"a whole number{f' of {unit}' if unit else ''} {wanted}"
        fix = ""
        if where == "command line" and field is not None and field.default is not None:
            fix = f"; pass e.g. --{root.replace('_', '-')} {field.default}"
        return ConfigError(f"{where}: {root} must be {wanted}, got {err.get('input')!r}{fix}")
    if err["type"] == "literal_error" and where == "command line":
        choices = [
            c.strip().strip("'")
            for c in str((err.get("ctx") or {}).get("expected", "")).replace(" or ", ",").split(",")
        ]
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
        flag = "--" + root.replace("_", "-")
        key_text = f" (`{root}` in a config file)" if flag != f"--{root}" else ""
        return ConfigError(f"{where}: {flag} must be {listed}, got {err.get('input')!r}{key_text}")
    if not err["loc"]:  # a check across keys (model validator)
        return ConfigError(f"{where}: {str(err['msg']).removeprefix('Value error, ')}")
    return ConfigError(f"{where}: `{key}`: {err['msg']} (got {err.get('input')!r})")


def build_config(values: dict[str, Any], where: str = "configuration") -> RunConfig:
    """Validate a mapping of options into a :class:`RunConfig`."""
    try:
        return RunConfig.model_validate(values)
    except ValidationError as exc:
        raise _explain(exc, where) from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML configuration file, apply ``overrides`` (e.g. command-line flags).

    Raises
    ------
    ConfigError
        For a missing or unreadable file, invalid YAML, unknown keys or wrong types.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc}") from None
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"config file {p} must hold a mapping of keys, got {type(values).__name__}"
        )
    overrides = dict(overrides or {})
    chosen, declared = overrides.get("models"), values.get("models")
    if isinstance(declared, dict) and isinstance(chosen, str | list | tuple):
        # `--models a,b` picks the models; their hyperparameters stay the file's
        names = chosen.split(",") if isinstance(chosen, str) else chosen
        names = [str(n).strip() for n in names if str(n).strip()]
        overrides["models"] = {n: declared.get(n) or {} for n in names}
    values.update(overrides)
    return build_config(values, where=str(p))
