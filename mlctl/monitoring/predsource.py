"""``predictions:MODEL``: the serve log as a drift source, one column at a time.

Only served traffic counts: shadow rows repeat the inputs of requests another version
answered, so they are left out. ``since`` keeps rows at or after that time. The log's own
columns (request_id, timestamp, ...) are not features; ``prediction`` is the model output.
"""

from __future__ import annotations

from mlctl.monitoring.readers import Source, unify_chunks
from mlctl.predlog import api as predlog
from mlctl.store.times import parse_since


class PredictionSource(Source):
    meta_columns = frozenset(predlog.META_COLUMNS)

    def __init__(self, repo, model: str, since=None):
        self.repo, self.model = repo, model
        self.since = parse_since(since)
        self.label = f"predictions:{model}" + (f" since {self.since.isoformat()}" if self.since else "")
        self.entries = predlog.log_entries(repo, model, self.since)
        self._masks = [self._row_mask(e) for e in self.entries]
        self._schemas = [self._schema(e) for e in self.entries]

    def _schema(self, entry):
        import pyarrow.parquet as pq

        return pq.read_schema(predlog.segment_path(self.repo, entry))

    def _row_mask(self, entry):
        import pyarrow.compute as pc

        table = predlog.read_segment(self.repo, entry, columns=["timestamp", "role"])
        mask = pc.not_equal(table["role"], "shadow")
        if self.since is not None:
            mask = pc.and_(mask, pc.greater_equal(table["timestamp"], predlog.arrow_time(self.since)))
        return mask

    def column_names(self) -> list[str]:
        names: dict[str, None] = {}
        for schema in self._schemas:
            names.update(dict.fromkeys(schema.names))
        return list(names)

    def num_rows(self) -> int:
        return sum(_count(m) for m in self._masks)

    def read_column(self, name: str):
        import pyarrow as pa

        chunks = []
        for entry, schema, mask in zip(self.entries, self._schemas, self._masks):
            if name in schema.names:
                column = predlog.read_segment(self.repo, entry, columns=[name]).column(0)
                chunks.append(column.filter(mask))
            else:
                chunks.append(pa.nulls(_count(mask)))
        return unify_chunks(chunks)


def _count(mask) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(pc.cast(mask, "int64")).as_py() or 0)
