"""Our core-1.1.1 validation agrees with the official JSON Schema as published, message by message: what it
accepts we accept (``format`` annotates and asserts nothing; an integer may be written 1.0), what it refuses we
refuse, at the paths it names."""

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    assert confirm == {"$.message.order.status"}  # its ids "T1", "M4" are no UUIDs, but the format only annotates
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


# values the official schema takes where a format or an integer is asked, but a stricter reading refused
AS_PUBLISHED = [
    ("context", "transaction_id", "T1"),  # format: uuid
    ("context", "timestamp", "2024-06-10 22:00:46"),  # format: date-time, without the T and the offset
    ("context", "bap_uri", "buyerapp"),  # format: uri
    ("context", "ttl", "PT30S"),
]
INTEGRAL = [1.0, 2.0, 0.0, 3.5, -1.0, "1", True]  # quantity.selected.count is an integer with minimum 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(AS_PUBLISHED), st.sampled_from(INTEGRAL))
def test_what_the_published_schema_accepts_we_accept(beckn_dir, official_schema, mutation, count):
    folder = beckn_dir / "examples/retail-1.1.0-beckn-sandbox"
    payload = json.loads((folder / "request/request.select.json").read_text())
    section, key, value = mutation
    payload[section][key] = value
    payload["message"]["order"]["items"][0]["quantity"] = {"selected": {"count": count}}
    ours = {v.path for v in validate_message("select", json.dumps(payload))}
    theirs = {p for p, _ in official_schema("select", payload)}
    assert bool(ours) == bool(theirs), (mutation, count, ours, theirs)
    assert all(any(o == p or o.startswith(p + ".") or p.startswith(o) for o in ours) for p in theirs), (ours, theirs)
