"""Every job of a command line, composed and checked before Hydra starts any of them.

Hydra reports a mistyped key, an unknown config option or a value of the wrong type in five to
twelve lines, and only once a job starts; a range mistake would show only as failed trials. Here
each job's config is composed exactly as Hydra's basic sweeper will compose it (the sweep's own
parameters, then the command line's overrides), every composition error becomes one
:class:`UserError` with the accepted values and, where one is close, "did you mean", and each
composed config goes through :func:`automl.config.checks.check_job`. Nothing is written and no study
is opened before all of them pass.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from hydra import compose, initialize_config_module
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from automl.config.checks import check_job
from automl.plugin.errors import UserError, choose
from automl.plugin.registry import Registry

CONFIG_MODULE = "automl.conf"
CONFIG_NAME = "config"
BASIC_SWEEPER = f"{BasicSweeper.__module__}.{BasicSweeper.__name__}"
TYPES = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}


def _compose(overrides: list[str]) -> DictConfig:
    return compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=True)


def _keys(node: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted key of a config, groups of settings included."""
    if isinstance(node, DictConfig):
        for key in node.keys():
            path = f"{prefix}{key}"
            yield path
            yield from _keys(node._get_node(key), f"{path}.")  # type: ignore[attr-defined]


def _parent_keys(reference: DictConfig, key: str) -> list[str]:
    parent, _, _ = key.rpartition(".")
    node = OmegaConf.select(reference, parent) if parent else reference
    if not isinstance(node, DictConfig):
        return []
    return [str(k) for k in node.keys() if str(k) != "hydra"]


def _unknown_key(key: str, reference: DictConfig) -> UserError:
    parent, _, leaf = key.rpartition(".")
    if not parent or OmegaConf.select(reference, parent) is not None:  # a new key in a known group
        siblings = _parent_keys(reference, key)
        close = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
        hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
        where = f"{parent} has" if parent else "the settings are"
        return UserError(
            f"unknown setting '{key}'; {hint}{where}: {', '.join(siblings) or 'no settings'}"
        )
    known = [k for k in _keys(reference) if not k.startswith("hydra.")]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "automl --cfg job lists every setting"
    return UserError(f"unknown setting '{key}'; {hint}")


def _wrong_value(override: str, cause: OmegaConfBaseException, reference: DictConfig) -> UserError:
    key = str(getattr(cause, "full_key", "") or override.split("=", 1)[0].lstrip("+~"))
    text = str(cause)
    found = re.search(r"converted to (\w+)", text)
    if found and found[1] in TYPES:
        wanted = TYPES[found[1]]
    elif "not a valid bool" in text:
        wanted = TYPES["Boolean"]
    elif "is not Optional" in text or "Non optional field" in text:
        wanted = "a value, not null"
    elif "Invalid type assigned" in text:
        inner = ", ".join(f"{key}.{k}" for k in _parent_keys(reference, f"{key}.x"))
        wanted = f"no value: it is a group of settings ({inner})"
    else:
        wanted = text.splitlines()[0]
    return UserError(f"{override} is not accepted: {key} takes {wanted}")


def _failing(overrides: list[str]) -> str:
    """The first override that Hydra cannot parse (one by one, so the message can name it)."""
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_overrides([override])
        except OverrideParseException:
            return override
    return " ".join(overrides)


def _reference(overrides: list[str], culprit: str) -> DictConfig:
    """The config without ``culprit``, for the keys and choices a message lists."""
    try:
        return _compose([o for o in overrides if o != culprit])
    except HydraException:
        return _compose([])


def compose_job(overrides: list[str]) -> DictConfig:
    """One job's config, with any of Hydra's composition errors as a one-line UserError."""
    try:
        return _compose(overrides)
    except OverrideParseException as error:
        first = str(error).splitlines()[0]
        raise UserError(
            f"cannot read the setting '{_failing(overrides)}': {first} (settings are key=value; "
            "quote values with spaces or brackets)"
        ) from None
    except MissingConfigException as error:
        missing = (error.missing_cfg_file or "").rpartition("/")
        group, name = missing[0], missing[2]
        if error.options is not None and group:
            raise choose(group.replace("/", "."), name, error.options) from None
        raise UserError(str(error).splitlines()[0]) from None
    except HydraException as error:
        cause = error.__cause__
        culprit = next((o for o in overrides if o in str(error)), "")
        if isinstance(cause, OmegaConfBaseException):
            reference = _reference(overrides, culprit)
            if "not in" in str(cause) and "Key '" in str(cause):
                key = str(getattr(cause, "full_key", ""))
                given = next(
                    (o.split("=", 1)[0] for o in overrides if o.split("=", 1)[0].startswith(key)),
                    key,
                )
                raise _unknown_key(given, reference) from None
            key = culprit or str(getattr(cause, "full_key", ""))
            raise _wrong_value(key, cause, reference) from None
        raise UserError(str(error).splitlines()[0]) from None


def jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override list of each job, as Hydra's basic sweeper will make them."""
    base = [o for o in overrides if not _is_sweep(o)]
    composed = compose_job(base)
    if not multirun and composed.hydra.mode is not None and composed.hydra.mode.name == "RUN":
        return [overrides]
    if composed.hydra.sweeper.get("_target_") != BASIC_SWEEPER:  # another sweeper makes its jobs
        return [base]
    params = [f"{k}={v}" for k, v in (composed.hydra.sweeper.get("params") or {}).items()]
    hydra = GlobalHydra.instance().hydra
    loader = hydra.config_loader if hydra is not None else None  # glob() lists a group's options
    parsed = OverridesParser.create(config_loader=loader).parse_overrides([*params, *overrides])
    try:
        (batch,) = BasicSweeper.split_arguments(parsed, None)
    except HydraException as error:
        raise UserError(
            f"cannot sweep: {str(error).splitlines()[0]}; a sweep takes a list (a,b,c), "
            "range(start,stop) or glob(pattern)"
        ) from None
    return batch


def _is_sweep(override: str) -> bool:
    try:
        (parsed,) = OverridesParser.create().parse_overrides([override])
    except OverrideParseException:
        return False
    return parsed.is_sweep_override()


def _plain(cfg: DictConfig) -> dict[str, Any]:
    """The job's settings as plain values, interpolations resolved (``${oc.env:...}`` included)."""
    out: dict[str, Any] = {}
    for key in cfg.keys():
        if key == "hydra":
            continue
        try:
            value = cfg[key]
            out[str(key)] = (
                OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
            )
        except OmegaConfBaseException as error:
            unset = re.search(r"Environment variable '([^']+)' not found", str(error))
            if unset:
                raise UserError(
                    f"{key}: the environment variable {unset[1]} is not set; set it, or give "
                    f"{key}=VALUE"
                ) from None
            raise UserError(f"{key}: {str(error).splitlines()[0]}") from None
    return out


def check(args: list[str], registry: Registry, *, multirun: bool) -> int:
    """Compose and check every job of ``args`` (Hydra's overrides); return how many there are."""
    with initialize_config_module(
        config_module=CONFIG_MODULE, version_base="1.3", job_name="automl"
    ):
        every = jobs(args, multirun)
        for overrides in every:
            check_job(_plain(compose_job(overrides)), registry)
    return len(every)
