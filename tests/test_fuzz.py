"""Fuzzing real nodes and a directory on 127.0.0.1: no request may get a 5xx, and every node stays up.

- The Beckn endpoints get bodies schemathesis generates from the official core 1.1.1 spec (valid ones and
  invalid ones), each signed by a registered stranger (``stranger.Stranger``): half as generated, half with a
  routable context (its own ids, the target's, a fresh message id), so they reach validation and processing.
- Every operation of each node's own ``/openapi.json`` gets schemathesis's cases with the node's token.
- The directory's registry gets arbitrary JSON, and its gateway signed spec-generated searches.

The number of examples per operation is ``YUANTOU_FUZZ_EXAMPLES`` (a few in CI, so the suite stays short;
raise it for a long run).
"""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest
import schemathesis
from conftest import BECKN, storage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core import NotSet
from stranger import Stranger, now_iso, post

from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document

EXAMPLES = int(os.environ.get("YUANTOU_FUZZ_EXAMPLES", "6"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
SPEC = BECKN / "spec/core-1.1.1/transaction.yaml"
ACTIONS = ["search", "select", "init", "confirm", "status", "track", "cancel", "update", "rating", "support"]
ACTIONS += [f"on_{a}" for a in ACTIONS]


@pytest.fixture(scope="module")
def fuzz_net(tmp_path_factory):
    network = LocalNetwork(tmp_path_factory.mktemp("fuzz"), database=storage())
    fuzzer = Stranger("fuzzer.probe")
    try:
        network.start_directory("--subscribes-per-minute", "3000")
        started = [network.add_node("orchard", ["producer"], catalog_document("orchard", *PRODUCERS["orchard"]),
                                    wait=False), network.add_node("buyer1", ["buyer"], wait=False)]
        network.wait_started(started)
        for role in ("BAP", "BPP"):
            assert fuzzer.subscribe(network.directory.url, role).status == 200
        yield network, fuzzer
    finally:
        fuzzer.close()
        network.stop()


@pytest.fixture(scope="module")
def beckn_spec(beckn_dir):
    schema = schemathesis.openapi.from_path(str(SPEC))
    return {result.ok().path.strip("/"): result.ok() for result in schema.get_all_operations()}


def raw(payload: object) -> bytes:
    """A generated body as bytes on the wire (schemathesis's invalid cases may be bytes, or no body at all)."""
    if isinstance(payload, NotSet):
        return b""
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload).encode()


def no_server_error(status: int, what: str, body: bytes) -> None:
    assert status < 500, f"{what} answered {status} to {body[:300]!r}"


def routable(context: dict, action: str, fuzzer: Stranger, target) -> dict:  # noqa: ANN001
    """The generated context with the fields routing needs set to real ones (the rest as generated)."""
    ours = {"action": action, "bap_id": fuzzer.subscriber_id, "bap_uri": fuzzer.url, "message_id": str(uuid.uuid4()),
            "transaction_id": str(uuid.uuid4()), "timestamp": now_iso(), "ttl": "PT30S", "version": "1.1.1"}
    if action.startswith("on_"):
        ours.update(bap_id=target.subscriber_id, bap_uri=target.url + "/beckn", bpp_id=fuzzer.subscriber_id,
                    bpp_uri=fuzzer.url)
    else:
        ours.update(bpp_id=target.subscriber_id, bpp_uri=target.url + "/beckn")
    return {**context, **ours}


@pytest.mark.parametrize("action", ACTIONS)
def test_beckn_endpoints_never_answer_5xx(fuzz_net, beckn_spec, action):
    net, fuzzer = fuzz_net
    target = net.buyers["buyer1"] if action.startswith("on_") else net.producers["orchard"]
    operation = beckn_spec[action]
    modes = st.sampled_from([schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])

    @SETTINGS
    @given(data=st.data(), route=st.booleans())
    def probe(data, route: bool) -> None:  # noqa: ANN001
        case = data.draw(operation.as_strategy(generation_mode=data.draw(modes)))
        payload = case.body
        if route and isinstance(payload, dict) and isinstance(payload.get("context"), dict):
            payload = {**payload, "context": routable(payload["context"], action, fuzzer, target)}
        body = raw(payload)
        answer = fuzzer.send(f"{target.url}/beckn/{action}", body)
        no_server_error(answer.status, f"/beckn/{action}", body)
        assert answer.ack in ("ACK", "NACK"), answer.body[:300]

    probe()
    assert httpx.get(target.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize("role", ["orchard", "buyer1"])
def test_business_api_never_answers_5xx(fuzz_net, role):
    net, _ = fuzz_net
    node = net.producers.get(role) or net.buyers[role]
    schema = schemathesis.openapi.from_url(node.url + "/openapi.json")
    token = {"Authorization": f"Bearer {node.token}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @SETTINGS
        @given(case=operation.as_strategy())
        def probe(case) -> None:  # noqa: ANN001
            if isinstance(case.query, dict) and "wait" in case.query:  # a long poll: seconds, not a minute each
                case.query["wait"] = min(float(case.query["wait"]), 0.2) if isinstance(
                    case.query["wait"], (int, float)) else case.query["wait"]
            response = case.call(base_url=node.url, headers=token, timeout=30)
            no_server_error(response.status_code, f"{operation.method.upper()} {operation.path}",
                            response.request.body or b"")

        probe()
    assert httpx.get(node.url + "/health", timeout=5).status_code == 200


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=20)
SUBSCRIPTION_KEYS = st.sampled_from(["subscriber_id", "url", "type", "domain", "location", "key_id",
                                     "signing_public_key", "encr_public_key", "valid_from", "valid_until", "ukId"])


def test_directory_never_answers_5xx(fuzz_net, beckn_spec):
    net, fuzzer = fuzz_net
    directory = net.directory.url

    @settings(SETTINGS, max_examples=EXAMPLES * 10)
    @given(body=st.dictionaries(SUBSCRIPTION_KEYS, JSON, max_size=11) | JSON, path=st.sampled_from(
        ["/lookup", "/subscribe"]), signed=st.booleans())
    def registry(body, path: str, signed: bool) -> None:  # noqa: ANN001
        sent = raw(body)
        answer = post(directory + path, sent, {"Authorization": fuzzer.sign(sent)} if signed else {})
        no_server_error(answer.status, path, sent)

    registry()
    for action in ("search", "on_search"):
        operation = beckn_spec[action]

        @SETTINGS
        @given(case=operation.as_strategy())
        def gateway(case) -> None:  # noqa: ANN001
            body = raw(case.body)
            answer = fuzzer.send(f"{directory}/{action}", body)
            no_server_error(answer.status, f"/{action}", body)

        gateway()
    assert httpx.get(directory + "/", timeout=5).status_code == 200
