"""Small picklable models for the serving tests (importable by the server process)."""

from __future__ import annotations

import time

import numpy as np


class Constant:
    """Predicts one value; tells which version answered."""

    def __init__(self, value, columns):
        self.value = value
        self.feature_names_in_ = np.array(columns, dtype=object)

    def predict(self, X):
        return np.full(len(X), self.value)


class Fussy:
    """Raises on income < 0 (a model error, not an input error); sleeps on income == 999."""

    def __init__(self, columns):
        self.feature_names_in_ = np.array(columns, dtype=object)

    def predict(self, X):
        income = np.asarray(X)[:, list(self.feature_names_in_).index("income")]
        if (income < 0).any():
            raise ValueError("negative income")
        if (income == 999).any():
            time.sleep(3)
        return income * 2


class NeedsFrame:
    """Selects columns by name, like a ColumnTransformer: refuses arrays."""

    def predict(self, X):
        return (X["plan"].str.len() + X["n"]).to_numpy()
