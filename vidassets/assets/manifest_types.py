"""The manifests of `vidassets.manifests` as Dagster types: the UI names each asset's value type, and an output
missing a required key fails its step instead of reaching the next asset."""

from typing import Any, is_typeddict

import dagster as dg

from vidassets import manifests


def _dagster_type(td: Any) -> dg.DagsterType:
    required = frozenset(td.__required_keys__)

    def check(_context: Any, value: Any) -> dg.TypeCheck:
        if not isinstance(value, dict):
            return dg.TypeCheck(success=False, description=f"{td.__name__} must be a dict, got {type(value).__name__}")
        missing = sorted(required - value.keys())
        if missing:
            return dg.TypeCheck(success=False, description=f"{td.__name__} lacks {', '.join(missing)}")
        return dg.TypeCheck(success=True)

    return dg.DagsterType(name=td.__name__, type_check_fn=check, description=(td.__doc__ or "").strip() or None,
                          typing_type=dict)


def register() -> None:
    """Map every manifest TypedDict to its Dagster type (once per process)."""
    for value in vars(manifests).values():
        if is_typeddict(value) and value.__module__ == manifests.__name__:
            dg.make_python_type_usable_as_dagster_type(value, _dagster_type(value))


register()
