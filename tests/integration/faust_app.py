"""A minimal Faust worker for the integration tests: source topic -> counting table -> output.

Run as a subprocess (``python tests/integration/faust_app.py worker``) so the test observes a
real worker from the outside, as the service will run.  Everything that must be unique per
test run comes from the environment set by the test.
"""

from __future__ import annotations

import os

from agents.kafka.clients import make_faust_app

env = os.environ
app = make_faust_app(
    env["FAUST_TEST_APP_ID"],
    env["FAUST_TEST_BOOTSTRAP"],
    store="memory://",
    datadir=env["FAUST_TEST_DATADIR"],  # Faust creates it even for in-memory tables
    topic_partitions=int(env["FAUST_TEST_PARTITIONS"]),
    topic_replication_factor=1,
    # The web server binds even when disabled: keep it on loopback and on a free port.
    web_enabled=False,
    web_bind="127.0.0.1",
    web_port=int(env["FAUST_TEST_WEB_PORT"]),
    broker_session_timeout=6.0,
    broker_heartbeat_interval=0.5,
    broker_commit_interval=0.5,
    key_serializer="raw",
    value_serializer="json",  # the table's changelog holds JSON counts
)
source = app.topic(env["FAUST_TEST_SOURCE"], key_type=bytes, value_serializer="raw")
output = app.topic(env["FAUST_TEST_OUTPUT"], key_type=bytes, value_serializer="raw")
counts = app.Table("counts", default=int, key_type=bytes)


@app.agent(source)
async def count(stream):
    async for key, _value in stream.items():
        counts[key] += 1
        await output.send(key=key, value=f"{key.decode()}:{counts[key]}".encode())


if __name__ == "__main__":
    app.main()
