"""The run configuration: every option of a run, validated, YAML in and out.

Every command-line flag is a key here and every key a flag; flags override the file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

__all__ = ["RunConfig", "load_config"]


class RunConfig(BaseModel):
    """A fully resolved run configuration.

    ``models`` maps each model name to its hyperparameters (an empty mapping for the
    defaults); a list of names is accepted too. ``baselines`` defaults to the task's set.
    ``flat_band`` (``trend3``), ``events`` (``events``: a list like
    ``[{name: up1, above: 0.01}, {name: big, abs_above_std: 2}]``, default up 1 %, down 1 %,
    |move| > 2 training standard deviations), ``vol_estimator`` (``volatility``) and
    ``transform`` (``level``: log changes or plain differences of the target) shape the task; ``series_embedding`` adds the series identity to a panel model's inputs.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    data: str = "builtin:sp500"
    date_col: str | None = None
    id_col: str | None = None
    target: str | None = None
    fillna: Literal["error", "ffill", "drop"] = "error"

    task: str = "return"
    horizon: list[int] = Field(default_factory=lambda: [1])
    lookback: int = 20
    features: str = "default"
    flat_band: float = 0.25
    events: list[dict[str, Any]] | None = None
    vol_estimator: Literal["close", "parkinson"] = "close"
    transform: Literal["auto", "log", "diff"] = "auto"
    series_embedding: bool = False

    models: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"mlp": dict[str, Any]()})
    baselines: list[str] | None = None
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    loss: str | None = None
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    patience: int | None = None
    val_fraction: float = 0.1
    #: Shrink networks' forecasts toward the naive forecast (weight fitted on validation).
    shrink: bool = True

    folds: int = 5
    window: Literal["expanding", "rolling"] = "expanding"
    train_size: int | None = None
    test_size: int | None = None
    gap: int | None = None

    seed: int = 0
    seeds: int = Field(default=1, ge=1)
    cost_bps: float = Field(default=5.0, ge=0)
    out: str | None = None

    #: Where work units run (results are identical): ``local`` processes or ``ray``.
    executor: Literal["local", "ray"] = "local"
    #: Local processes (1: in this process) or CPUs of a local Ray cluster; default auto.
    workers: int | None = Field(default=None, ge=1)
    #: Join the Ray cluster at this address instead of starting a local one.
    ray_address: str | None = None
    #: ``fincast tune`` search space: parameter -> {low, high[, log, step]}, a list of
    #: choices, or a fixed value; unset parameters use the model's default space.
    search_space: dict[str, Any] | None = None

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

    @field_validator("baselines", mode="before")
    @classmethod
    def _baselines_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def to_yaml(self) -> str:
        """The configuration as YAML that :func:`load_config` reads back identically."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _explain(exc: ValidationError, where: str) -> ConfigError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    if not key.isprintable():  # a key with a newline or tab: show it escaped, on one line
        key = repr(key)[1:-1]
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), RunConfig.model_fields, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return ConfigError(f"{where}: unknown key `{key}`{hint}")
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
    values.update(overrides or {})
    return build_config(values, where=str(p))
