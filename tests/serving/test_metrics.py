"""Prometheus text from several workers' snapshots."""

from __future__ import annotations

from mlctl.serving.metrics import LATENCY_BUCKETS, Metrics, merge, publish, read_published, render


def worker(requests: int, latency: float) -> Metrics:
    m = Metrics()
    labels = (("endpoint", "/predict"), ("status", 200))
    for _ in range(requests):
        m.inc("mlctl_requests_total", labels)
        m.observe("mlctl_request_duration_seconds", (("endpoint", "/predict"),), latency, LATENCY_BUCKETS)
    m.set("mlctl_prediction_log_pending", (), requests)
    m.set("mlctl_model_info", (("model", "churn"), ("version", 2)), 1)
    return m


def test_workers_are_summed_and_rendered_in_the_text_format(tmp_path):
    publish(worker(3, 0.002).snapshot(), tmp_path, 0)
    publish(worker(2, 0.2).snapshot(), tmp_path, 1)
    (tmp_path / "worker-9.json").write_text("{torn")  # a worker mid-restart is skipped
    text = render(merge(read_published(tmp_path)))
    lines = text.splitlines()
    assert '# TYPE mlctl_requests_total counter' in lines
    assert 'mlctl_requests_total{endpoint="/predict",status="200"} 5' in lines
    assert 'mlctl_request_duration_seconds_bucket{endpoint="/predict",le="0.0025"} 3' in lines
    assert 'mlctl_request_duration_seconds_bucket{endpoint="/predict",le="0.25"} 5' in lines
    assert 'mlctl_request_duration_seconds_bucket{endpoint="/predict",le="+Inf"} 5' in lines
    assert 'mlctl_request_duration_seconds_count{endpoint="/predict"} 5' in lines
    assert 'mlctl_prediction_log_pending 5' in lines
    assert 'mlctl_model_info{model="churn",version="2"} 1' in lines  # info is not summed
    assert 'mlctl_workers 2' in lines
    assert read_published(tmp_path, skip_worker=1)[0]["counters"][0][2] == 3


def test_label_values_are_escaped():
    m = Metrics()
    m.inc("mlctl_requests_total", (("endpoint", 'a"b\\c\nd'),))
    assert 'mlctl_requests_total{endpoint="a\\"b\\\\c\\nd"} 1' in render(merge([m.snapshot()]))
