"""A scorecard as plain data (JSON-ready) and back: what the store keeps of a model, so that
the same bins, coefficients and scaling score tomorrow what they scored today."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from capillary.domain.scoring.binning import (
    Bin,
    Binning,
    CategoricalBinning,
    NumericBinning,
)
from capillary.domain.scoring.scorecard import Scorecard, ScorecardConfig


def _bin(b: Bin) -> list[Any]:
    return [b.label, b.goods, b.bads, b.woe]


def _unbin(x: list[Any]) -> Bin:
    return Bin(str(x[0]), int(x[1]), int(x[2]), float(x[3]))


def _binning(b: Binning) -> dict[str, Any]:
    common = {"feature": b.feature, "bins": [_bin(x) for x in b.bins],
              "missing": _bin(b.missing)}  # fmt: skip
    if isinstance(b, NumericBinning):
        return {"kind": "numeric", "edges": list(b.edges), **common}
    return {"kind": "categorical", "groups": [sorted(g) for g in b.groups], **common}


def _unbinning(d: dict[str, Any]) -> Binning:
    bins = tuple(_unbin(x) for x in d["bins"])
    if d["kind"] == "numeric":
        edges = tuple(float(e) for e in d["edges"])
        if any(math.isnan(e) for e in edges):
            raise ValueError("a stored scorecard's bin edges are not numbers")
        return NumericBinning(d["feature"], edges, bins, _unbin(d["missing"]))
    groups = tuple(frozenset(str(m) for m in g) for g in d["groups"])
    return CategoricalBinning(d["feature"], groups, bins, _unbin(d["missing"]))


def dump(card: Scorecard) -> dict[str, Any]:
    return {
        "binnings": [_binning(b) for b in card.binnings],
        "coefficients": list(card.coefficients),
        "intercept": card.intercept,
        "config": asdict(card.config),
        "dropped": list(card.dropped),
    }


def load(data: dict[str, Any]) -> Scorecard:
    return Scorecard(
        tuple(_unbinning(b) for b in data["binnings"]),
        tuple(float(c) for c in data["coefficients"]),
        float(data["intercept"]),
        ScorecardConfig(**data["config"]),
        tuple(str(f) for f in data["dropped"]),
    )
