"""Our core-1.1.1 validation agrees with the official JSON Schema, message by message."""

import copy
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from yuantou.protocol.validation import REQUEST_MODELS, validate_message


def examples(beckn_dir):
    files = sorted((beckn_dir / "examples").rglob("*.json"))
    assert len(files) == 32
    return files


def test_every_example_gets_the_same_verdict_and_paths(beckn_dir, official_schema):
    for path in examples(beckn_dir):
        payload = json.loads(path.read_text())
        action = payload["context"]["action"]
        ours = {v.path for v in validate_message(action, path.read_bytes())}
        theirs = {p for p, _ in official_schema(action, payload)}
        assert bool(ours) == bool(theirs), path.name
        # every path the official schema names is named by us (ours may go one level deeper)
        for p in theirs:
            assert any(o == p or o.startswith(p + ".") for o in ours), (path.name, p, ours)


def test_ondc_agri_breaks_exactly_the_known_core_rules(beckn_dir):
    folder = beckn_dir / "examples/ondc-agri-output-AGR11-2.0.0"
    confirm = {v.path for v in validate_message("confirm", (folder / "confirm.json").read_bytes())}
    assert confirm == {"$.context.transaction_id", "$.context.message_id", "$.message.order.status"}
    on_search = {v.path for v in validate_message("on_search", (folder / "on_search.json").read_bytes())}
    assert "$.message.catalog.providers[0].ttl" in on_search


MUTATIONS = [
    ("context", "transaction_id", "T1"),
    ("context", "message_id", 42),
    ("context", "timestamp", "yesterday"),
    ("context", "bap_uri", 7),
    ("context", "action", "wrong-action"),
    ("context", "ttl", 30),
    ("context", "domain", None),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(REQUEST_MODELS)), st.sampled_from(MUTATIONS))
def test_mutated_messages_agree(beckn_dir, official_schema, action, mutation):
    folder = beckn_dir / "examples/retail-1.1.0-beckn-sandbox"
    name = ("response/response." + action[3:]) if action.startswith("on_") else ("request/request." + action)
    payload = json.loads((folder / f"{name}.json").read_text())
    section, key, value = mutation
    mutated = copy.deepcopy(payload)
    mutated[section][key] = value
    ours = validate_message(action, json.dumps(mutated))
    theirs = official_schema(action, mutated)
    assert bool(ours) == bool(theirs), (action, mutation, ours, theirs)
    if theirs:
        assert {v.path for v in ours} >= {p for p, _ in theirs if p.count(".") <= 2}
