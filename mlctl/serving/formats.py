"""Request bodies -> rows in the model's column order.

/predict takes ``{"instances": [{"col": value, ...}, ...]}`` (or rows as lists in signature
order) and refuses unknown columns. /invocations takes MLflow's formats — JSON with one of
``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs`` (records, lists, or
columnar), or a CSV body (``Content-Type: text/csv``) — and ignores extra columns as MLflow
does.
"""

from __future__ import annotations

import orjson

from mlctl.serving.inputs import InputError, rows_from_columns, rows_from_records, rows_from_split

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def decode(body: bytes, content_type: bytes | None, cols, invocations: bool) -> list[list]:
    if not body or not body.strip():
        raise InputError("empty body: send a JSON document")
    if invocations and content_type and content_type.split(b";")[0].strip().lower() == b"text/csv":
        return _csv_rows(body, cols)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc}") from None
    return _invocation_rows(doc, cols) if invocations else _predict_rows(doc, cols)


def _predict_rows(doc, cols) -> list[list]:
    if not isinstance(doc, dict) or "instances" not in doc:
        raise InputError('expected {"instances": [{"column": value, ...}, ...]}')
    extra = [k for k in doc if k not in ("instances", "parameters", "params")]
    if extra:
        raise InputError(f"unknown field '{extra[0]}' (expected \"instances\")")
    return rows_from_records(doc["instances"], cols, strict=True)


def _invocation_rows(doc, cols) -> list[list]:
    if not isinstance(doc, dict):
        raise InputError(f"expected a JSON object with one of {', '.join(MLFLOW_KEYS)}")
    present = [k for k in MLFLOW_KEYS if k in doc]
    if len(present) != 1:
        raise InputError(f"expected exactly one of {', '.join(MLFLOW_KEYS)}; got "
                         f"{', '.join(present) or 'none'}")
    key = present[0]
    value = doc[key]
    if key == "dataframe_split":
        return rows_from_split(value, cols)
    if key == "inputs" and isinstance(value, dict):
        return rows_from_columns(value, cols)
    return rows_from_records(value, cols, strict=False)


def _csv_rows(body: bytes, cols) -> list[list]:
    import io

    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"malformed CSV: {exc}") from None
    for name in cols.names:
        if name not in frame.columns:
            raise InputError(f"missing column '{name}'", name)
    frame = frame[cols.names].astype(object).where(frame[cols.names].notna(), None)
    return frame.values.tolist()
