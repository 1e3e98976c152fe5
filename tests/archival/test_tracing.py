"""A span per S3 call (moto's HTTP server), named by operation, never by object key."""

from __future__ import annotations

from opentelemetry.trace import SpanKind, StatusCode

from ontology.archival.sinks import sha256_hex
from ontology.kit import tracing
from tests.archival.support import s3_sink
from tests.tracing_support import traced


async def test_every_s3_call_is_a_client_span_under_the_current_one(
    s3_endpoint: str, bucket: str
) -> None:
    with traced() as exporter:
        sink = s3_sink(s3_endpoint, bucket, prefix="secret-prefix")
        tracer = tracing.tracer()
        assert tracer is not None
        with tracer.start_as_current_span("archive run") as run:
            await sink.check()
            stored = await sink.put_if_absent("day/one.jsonl", b"{}\n", sha256_hex(b"{}\n"))
            again = await sink.put_if_absent("day/one.jsonl", b"{}\n", sha256_hex(b"{}\n"))
            missing = await sink.head("day/none.jsonl")
        spans = [s for s in exporter.get_finished_spans() if s.name.startswith("S3.")]

    assert (stored, again, missing) == (True, False, None)
    assert [
        (s.name, s.attributes["http.response.status_code"], s.status.status_code) for s in spans
    ] == [
        ("S3.HeadBucket", 200, StatusCode.UNSET),
        ("S3.PutObject", 200, StatusCode.UNSET),  # the create-only probe, first write
        ("S3.PutObject", 412, StatusCode.ERROR),  # ... refused the second time
        ("S3.PutObject", 200, StatusCode.UNSET),
        ("S3.PutObject", 412, StatusCode.ERROR),
        ("S3.HeadObject", 200, StatusCode.UNSET),  # ... then compared with what is there
        ("S3.HeadObject", 404, StatusCode.ERROR),
    ]
    for span in spans:
        assert span.kind == SpanKind.CLIENT
        assert span.parent is not None and span.parent.span_id == run.get_span_context().span_id
        assert {k: v for k, v in span.attributes.items() if k != "http.response.status_code"} == {
            "rpc.system": "aws-api",
            "rpc.service": "S3",
            "rpc.method": span.name.removeprefix("S3."),
            "aws.s3.bucket": bucket,
        }
        assert not any("secret-prefix" in str(v) for v in span.attributes.values())


def test_without_tracing_s3_calls_make_no_spans(s3_endpoint: str, bucket: str) -> None:
    with traced() as exporter:
        tracing.uninstall()
        sink = s3_sink(s3_endpoint, bucket)
        sink.client.head_bucket(Bucket=bucket)
        assert exporter.get_finished_spans() == ()
