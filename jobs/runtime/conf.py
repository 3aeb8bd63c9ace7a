"""Typed configuration: conf/base.yaml, overlaid by one environment file, overlaid by --set.

Configuration is data (STYLE.md): every threshold, cap and window the pipeline uses is a key here,
documented in README.md. Every default lives in conf/base.yaml, and only there: the models below
declare types and bounds, no values, so a key base.yaml lacks is an error rather than a second,
silent default. Loading is strict: an unknown key, a missing key or a bad value stops the run with
a message that names the key and the file (or the --set) it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = PROJECT_ROOT / "conf"
DEFAULT_CONF_FILE = CONF_DIR / "local.yaml"


class ConfError(ValueError):
    """A configuration file or override that cannot be used; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConf(_Section):
    landing: str
    lakehouse: str
    reports: str
    checkpoints: str
    metastore: str
    jar_cache: str


class SparkConf(_Section):
    master: str
    app_name: str
    driver_memory: str
    shuffle_partitions: int = Field(ge=1)
    ui_enabled: bool
    log_level: Literal["ALL", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"]
    extra: dict[str, str]

    @field_validator("extra", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # YAML reads `true` and `4` as bool and int; Spark wants strings.
        if isinstance(value, Mapping):
            return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
        return value


class MlflowConf(_Section):
    tracking_uri: str
    artifact_root: str
    experiment: str
    model_name: str


class SimulatorConf(_Section):
    """Proportions of the synthetic marketplace (jobs/simulate.py).

    Every knob is documented in README.md; a new knob defaults to the value that leaves the demo
    world unchanged, so a scenario (jobs/simulator/scenarios.py) or --randomise turns it on.
    """

    listings_per_seller: float = Field(gt=0)
    ring_seller_share: float = Field(ge=0, le=1)
    mean_ring_size: float = Field(ge=1)
    counterfeit_share_in_ring: float = Field(ge=0, le=1)
    family_seller_share: float = Field(ge=0, le=1)
    new_account_share: float = Field(ge=0, le=1)
    ring_signal_rates: dict[str, float]
    sellers_per_wifi_hub: int = Field(ge=2)
    sellers_per_nat_ip: int = Field(ge=2)
    hub_session_share: float = Field(ge=0, le=1)
    warehouse_share: float = Field(ge=0, le=1)
    initial_catalog_share: float = Field(ge=0, le=1)
    branded_share_honest: float = Field(ge=0, le=1)
    reviews_per_listing: float = Field(ge=0)
    orders_per_listing: float = Field(ge=0)
    sessions_per_seller_day: int = Field(ge=1)
    report_rate: float = Field(ge=0, le=1)
    false_report_rate: float = Field(ge=0, le=1)
    max_verdict_delay_days: int = Field(ge=1)
    # Genuine listings below the reference price, and genuine listings that name a brand.
    authorised_discounter_share: float = Field(ge=0, le=1)
    cheap_genuine_share: float = Field(ge=0, le=1)
    price_typo_rate: float = Field(ge=0, le=1)
    brand_accessory_share: float = Field(ge=0, le=1)
    home_currency_share: float = Field(ge=0, le=1)
    # Storefront effort.
    ring_basic_template_share: float = Field(ge=0, le=1)
    honest_basic_template_share: float = Field(ge=0, le=1)
    # Brands' reporting habits.
    report_rate_spread: float = Field(ge=0, le=1)
    suspicious_report_rate: float = Field(ge=0, le=1)
    wrong_verdict_rate: float = Field(ge=0, le=1)
    stays_pending_rate: float = Field(ge=0, le=1)
    # Operators who evade.
    lone_signal_share: float = Field(ge=0, le=1)
    workshops_per_ring: int = Field(ge=1)
    rings_per_factory: int = Field(ge=1)
    new_account_signal_scale: float = Field(ge=0, le=1)
    # Honest hubs.
    nat_seller_share: float = Field(ge=0, le=1)
    fulfilment_centres: int = Field(ge=1)
    parcel_forwarder_share: float = Field(ge=0, le=1)
    parcel_forwarders: int = Field(ge=1)
    vpn_session_share: float = Field(ge=0, le=1)
    vpn_exit_ips: int = Field(ge=1)


class DriftConf(_Section):
    """The drift check of each raw table's night against the nights before (data_contracts/drift.py)."""

    window_nights: int = Field(ge=1)
    min_nights: int = Field(ge=1)
    warn_mads: float = Field(ge=0)
    min_relative_change: float = Field(ge=0)
    min_absolute_change: float = Field(ge=0)
    stop_volume_ratio: float = Field(ge=0)

    @field_validator("stop_volume_ratio")
    @classmethod
    def _a_ratio_or_off(cls, ratio: float) -> float:
        if 0 < ratio <= 1:
            raise ValueError(
                "a volume ratio above 1 (5: five times the median), or 0 to never stop"
            )
        return ratio


class IngestConf(_Section):
    """Thresholds of the ingest step (jobs/ingest.py)."""

    max_reject_share: float = Field(ge=0, le=1)
    max_reject_share_by_table: dict[str, float]
    late_arrival_days: int = Field(ge=0)
    earliest_timestamp: date
    great_expectations: bool
    drift: DriftConf

    @field_validator("max_reject_share_by_table")
    @classmethod
    def _known_tables(cls, shares: dict[str, float]) -> dict[str, float]:
        from data_contracts.schemas import RAW_TABLES

        unknown = sorted(set(shares) - set(RAW_TABLES))
        if unknown:
            raise ValueError(f"unknown raw tables {unknown}; known: {sorted(RAW_TABLES)}")
        return shares

    def reject_threshold(self, table: str) -> float:
        return self.max_reject_share_by_table.get(table, self.max_reject_share)


class ConformConf(_Section):
    """Currency conversion and deduplication of the conform step (jobs/conform.py)."""

    rates_to_usd: dict[str, float]

    @field_validator("rates_to_usd")
    @classmethod
    def _iso_codes(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = [c for c, r in rates.items() if len(c) != 3 or not c.isupper() or r <= 0]
        if bad:
            raise ValueError(f"expected ISO 4217 codes with positive rates, got {bad}")
        return rates


class FeaturesConf(_Section):
    """Windows and thresholds of the seller and listing features (features/)."""

    counterfeit_keywords: list[str]
    fuzzy_max_distance: int = Field(ge=0)
    fuzzy_min_length: int = Field(ge=2)
    burst_reviews_per_day: int = Field(ge=2)
    duplicate_text_min: int = Field(ge=2)


class LinkageConf(_Section):
    """The account-linkage graph (features/account_links.py)."""

    window_days: int = Field(ge=1)
    hub_degree_cap: int = Field(ge=2)
    rare_degree: int = Field(ge=2)
    min_link_score: float = Field(gt=0)
    type_weights: dict[str, float]
    repeat_decay: float = Field(ge=0, lt=1)
    max_ring_size: int = Field(ge=2)
    max_iterations: int = Field(ge=1)
    checkpoint_every: int = Field(ge=1)
    local_components_max_edges: int = Field(ge=0)
    label_propagation_iterations: int = Field(ge=1)
    top_hubs: int = Field(ge=1)
    engine: Literal["auto", "graphframes", "dataframe"]


class TrainingConf(_Section):
    """Labels, split, models and promotion gate (training/)."""

    every_days: int = Field(ge=1)
    eval_days: int = Field(ge=1)
    min_labels: int = Field(ge=2)
    population: bool
    unlabelled_per_notice: float = Field(ge=0)
    max_unlabelled: int = Field(ge=0)
    unlabelled_prior: float = Field(ge=0, lt=1)
    min_eval_positives: int = Field(ge=1)
    bootstrap_replicates: int = Field(ge=10)
    confidence: float = Field(gt=0, lt=1)
    review_budget: int = Field(ge=1)
    promotion_margin: float = Field(ge=0)
    default_candidate: (
        Literal["logistic_regression", "gradient_boosted_trees", "monotone_boosted_trees"] | None
    )
    seed: int
    gbt_max_iter: int = Field(ge=1)
    gbt_max_depth: int = Field(ge=1)
    lr_max_iter: int = Field(ge=1)
    lr_reg_param: float = Field(ge=0)
    top_share: float = Field(gt=0, le=1)
    pr_curve_bins: int = Field(ge=2)
    eval_table_rows: int = Field(ge=1)
    rules_max_price_to_reference: float = Field(gt=0)
    # Monotone-constrained boosted trees (xgboost.spark) and calibration (training/models.py).
    xgb_max_iter: int = Field(ge=1)
    xgb_max_depth: int = Field(ge=1)
    xgb_learning_rate: float = Field(gt=0, le=1)
    xgb_num_workers: int = Field(ge=1)
    monotone_constraints: dict[str, int]
    calibration_knee: float = Field(gt=0, lt=1)

    @field_validator("monotone_constraints")
    @classmethod
    def _monotone_signs(cls, constraints: dict[str, int]) -> dict[str, int]:
        # Names are not checked here: the feature set changes, the model warns and ignores them.
        bad = {name: sign for name, sign in constraints.items() if sign not in (-1, 0, 1)}
        if bad:
            raise ValueError(f"signs must be -1, 0 or 1, got {bad}")
        return constraints


class ScoringConf(_Section):
    """Scoring, gold tables, maintenance and the report (jobs/score.py, jobs/report.py)."""

    flag_threshold: float = Field(ge=0, le=1)
    flag_budget: int = Field(ge=1)
    reason_codes: int = Field(ge=1)
    vacuum_retention_hours: int = Field(ge=0)
    maintenance_weekday: int = Field(ge=0, le=6)
    report_top_leads: int = Field(ge=1)
    case_pages: int = Field(ge=0)
    case_page_nights: int = Field(ge=1)
    case_page_listings: int = Field(ge=0)
    source_min_rings: int = Field(ge=1)
    source_min_confirmed_sellers: int = Field(ge=1)


class OpsConf(_Section):
    """Operating the nights: how far back a night may be re-run (jobs/runtime/night_versions.py)."""

    backfill_days: int = Field(ge=0)


class Conf(_Section):
    paths: PathsConf
    spark: SparkConf
    mlflow: MlflowConf
    simulator: SimulatorConf
    ingest: IngestConf
    conform: ConformConf
    features: FeaturesConf
    linkage: LinkageConf
    training: TrainingConf
    scoring: ScoringConf
    ops: OpsConf


@dataclass(frozen=True)
class _Layer:
    source: str  # a file path or "--set key=value"
    values: dict[str, Any]


def load_conf(
    conf_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    base_file: str | Path | None = None,
) -> Conf:
    """Load base.yaml, then `conf_file` over it (default conf/local.yaml), then `key=value` overrides.

    Relative local paths are made absolute against the current directory, so Spark, Delta and
    MLflow all see the same folders whatever their own working directory.
    """
    env_path = Path(conf_file) if conf_file else DEFAULT_CONF_FILE
    # base.yaml sits beside the environment file (conf/), which also holds when the code runs
    # from a wheel, far from the checkout's conf/ folder.
    beside = env_path.parent / "base.yaml"
    base_path = (
        Path(base_file) if base_file else beside if beside.is_file() else CONF_DIR / "base.yaml"
    )
    layers = [_read_yaml(base_path)]
    if env_path.resolve() != base_path.resolve():
        layers.append(_read_yaml(env_path))
    layers.extend(_parse_override(item) for item in overrides)

    merged: dict[str, Any] = {}
    provenance: dict[tuple[str, ...], str] = {}
    for layer in layers:
        _check_known_keys(layer.values, Conf, (), layer.source)
        _deep_merge(merged, layer.values, (), layer.source, provenance)
    try:
        conf = Conf.model_validate(merged)
    except ValidationError as exc:
        raise ConfError(_describe(exc, provenance)) from None
    return _absolutise(conf)


def overrides_under(root: Path) -> list[str]:
    """`key=value` overrides that put every folder and store a run writes under `root` (landing,
    lakehouse, reports, checkpoints, metastore, MLflow): an isolated world for a test or a
    benchmark. Overrides given after these win."""
    return [
        f"paths.landing={root / 'landing'}",
        f"paths.lakehouse={root / 'lakehouse'}",
        f"paths.reports={root / 'reports'}",
        f"paths.checkpoints={root / 'checkpoints'}",
        f"paths.metastore={root / 'metastore'}",
        f"mlflow.tracking_uri=sqlite:///{root / 'mlflow.db'}",
        f"mlflow.artifact_root={root / 'mlartifacts'}",
    ]


def _read_yaml(path: Path) -> _Layer:
    if not path.is_file():
        raise ConfError(f"{path}: configuration file not found")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(values, dict):
        raise ConfError(f"{path}: expected a mapping of sections at the top level")
    return _Layer(str(path), values)


def _parse_override(item: str) -> _Layer:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfError(f"--set {item!r}: expected key=value, e.g. --set spark.master=local[2]")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    tree: dict[str, Any] = {}
    node = tree
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return _Layer(f"--set {item}", tree)


def _check_known_keys(
    values: Mapping[str, Any], model: type[BaseModel], prefix: tuple[str, ...], source: str
) -> None:
    for key, value in values.items():
        field = model.model_fields.get(key)
        dotted = ".".join((*prefix, key))
        if field is None:
            known = ", ".join(sorted(model.model_fields)) or "none"
            raise ConfError(f"{source}: unknown key '{dotted}' (known here: {known})")
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(value, Mapping):
                raise ConfError(f"{source}: '{dotted}' must be a mapping of keys")
            _check_known_keys(value, annotation, (*prefix, key), source)


def _deep_merge(
    into: dict[str, Any],
    layer: Mapping[str, Any],
    prefix: tuple[str, ...],
    source: str,
    provenance: dict[tuple[str, ...], str],
) -> None:
    for key, value in layer.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, path, source, provenance)
        else:
            into[key] = copy.deepcopy(value)
        provenance[path] = source


def _describe(exc: ValidationError, provenance: Mapping[tuple[str, ...], str]) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        source = next(
            (provenance[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in provenance),
            "conf",
        )
        message = (
            "missing (every key has its default in conf/base.yaml, and only there)"
            if error["type"] == "missing"
            else error["msg"]
        )
        lines.append(f"{source}: '{'.'.join(loc)}': {message}")
    return "; ".join(lines)


def _absolutise(conf: Conf) -> Conf:
    paths = {name: _absolute(value) for name, value in conf.paths.model_dump().items()}
    # The jar cache belongs to the checkout that `make setup` filled, wherever a job runs from.
    if is_local_path(conf.paths.jar_cache) and not Path(conf.paths.jar_cache).is_absolute():
        paths["jar_cache"] = str(PROJECT_ROOT / conf.paths.jar_cache)
    mlflow = conf.mlflow.model_copy(
        update={
            "tracking_uri": _absolute_sqlite(conf.mlflow.tracking_uri),
            "artifact_root": _absolute(conf.mlflow.artifact_root),
        }
    )
    return conf.model_copy(update={"paths": PathsConf(**paths), "mlflow": mlflow})


def is_local_path(value: str) -> bool:
    """True for a plain file-system path, False for a URI such as s3a://bucket/x or file:/x."""
    return "://" not in value and not value.startswith("file:")


def _absolute(value: str) -> str:
    return str(Path(value).resolve()) if is_local_path(value) else value


def _absolute_sqlite(uri: str) -> str:
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri[len(prefix) :]).resolve())
    return uri
