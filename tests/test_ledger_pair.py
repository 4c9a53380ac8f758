"""Pair checkpoints: two parties' signed word on everything between them up to a cut-off, and their chains' heads."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_ledger_chain import FARM, SHOP, SHOP_KEY, history, keys, messages, signer
from yuantou.ledger.chain import Entry, seal
from yuantou.ledger.pair import agrees, from_json, sign_pair, to_json
from yuantou.ledger.verify import verify

SHOP_ID = f"{SHOP}|s1|ed25519"


def resealed(chain: list[Entry]) -> list[Entry]:
    """The chain re-linked and re-hashed from scratch: what an operator rewriting its store would produce."""
    out: list[Entry] = []
    for i, e in enumerate(chain):
        out.append(seal(replace(e, height=i, prev_hash=out[-1].hash if out else "0" * 64)))
    return out


def pair(chain: list[Entry], until: int) -> tuple:
    """The farm's own pair checkpoint and the shop's (signed over the same messages, as the shop holds them)."""
    key, _, key_id = signer(FARM, chain[-1].recorded_at)
    head = (chain[-1].height, chain[-1].hash)
    farm_cp = sign_pair(chain, head, FARM, SHOP, until, key_id, key, chain[-1].recorded_at)
    shop_cp = sign_pair(chain, (7, "f" * 64), SHOP, FARM, until, SHOP_ID, SHOP_KEY, chain[-1].recorded_at)
    return farm_cp, shop_cp


@settings(max_examples=40, deadline=None)
@given(messages, st.data())
def test_a_chain_lives_up_to_its_pair_checkpoints_and_a_rewrite_below_them_is_named(msgs: list, data) -> None:
    chain = history(msgs)
    until = data.draw(st.sampled_from([e.recorded_at for e in chain]))
    farm_cp, shop_cp = pair(chain, until)
    assert agrees(farm_cp, shop_cp) and from_json(to_json(shop_cp)) == shop_cp
    assert verify(chain, keys(), pair_checkpoints=[farm_cp, shop_cp], owner=FARM) is None

    covered = [i for i, e in enumerate(chain) if e.recorded_at <= until]
    dropped = data.draw(st.sampled_from(covered))  # a message both signed for, removed and the chain rebuilt
    rewritten = resealed(chain[:dropped] + chain[dropped + 1:])
    assert verify(rewritten, keys()) is None  # alone, the rebuilt chain holds together
    problem = verify(rewritten, keys(), pair_checkpoints=[shop_cp], owner=FARM)
    assert problem is not None and f"{SHOP_ID} signed for {shop_cp.count} messages" in problem.reason

    # rewritten below the farm's own checkpoint while keeping every message: its head hash there is gone
    changed = data.draw(st.integers(0, farm_cp.height))
    kept = resealed(chain[:changed] + [replace(chain[changed], recorded_at=chain[changed].recorded_at + 1)]
                    + chain[changed + 1:])
    problem = verify(kept, keys(), pair_checkpoints=[farm_cp, shop_cp], owner=FARM)
    assert problem is not None and problem.height == farm_cp.height and "rewritten at or below it" in problem.reason


def test_messages_after_the_cut_off_do_not_count_and_a_cut_short_chain_is_named() -> None:
    chain = history([(True, 0, True, 5), (False, 0, True, 5), (True, 1, True, 5), (False, 1, True, 5)])
    farm_cp, shop_cp = pair(chain[:2], chain[1].recorded_at)
    assert farm_cp.count == 2 and farm_cp.height == 1
    assert verify(chain, keys(), pair_checkpoints=[farm_cp, shop_cp], owner=FARM) is None  # later ones: not covered
    forged = replace(shop_cp, count=1)
    assert "does not verify" in verify(chain, keys(), pair_checkpoints=[forged], owner=FARM).reason
    farm_late, _ = pair(chain, chain[-1].recorded_at)
    problem = verify(chain[:3], keys(), pair_checkpoints=[farm_late], owner=FARM)
    assert problem is not None and "holds 3" in problem.reason  # the cut tail held a message both signed for
    farm_head, _ = pair(chain, chain[1].recorded_at)  # covers the first two, signed at the head (entry 3)
    problem = verify(chain[:3], keys(), pair_checkpoints=[farm_head], owner=FARM)  # the uncovered tail cut off
    assert problem is not None and "ends before entry 3" in problem.reason and "cut short" in problem.reason
