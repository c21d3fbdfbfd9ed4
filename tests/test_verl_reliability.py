"""Fault injection through verl's own interface: ``load_reward_manager`` + ``run_single`` with real DataProto batches,
on the in-process rendezvous and on the named Ray actor (local Ray). Each test is a row of docs/reliability.md.

Judges: ``unigram`` and a real HTTP judge served from 127.0.0.1 by tests/reliability_helpers.py (Jaccard overlap
of the two sides; it can be slow or refuse requests holding a poison word).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("verl")

import diversity_metrics as dm  # noqa: E402
from tests.reliability_helpers import JudgeServer  # noqa: E402
from tests.test_verl_helpers import make_batch, ray_session, tok_dir, tokenizer, verl_config  # noqa: E402,F401

pytestmark = pytest.mark.slow

# every response has more than 5 words, so the judge (not the short-response rule) decides every pair
GROUPS = [
    ("What is 40 + 2?", ["Add forty and two to get the answer. #### 42", "Twenty one doubled is forty two, so #### 42",
                         "I guess the answer is surely #### 41", "Add forty and two to get the answer. #### 42"]),
    ("Compute 6 * 7.", ["Six sevens make forty two in all #### 42", "I guess the answer is surely #### 41",
                        "Six times seven gives forty two here #### 42", "Seven sixes are forty two as well #### 42"]),
    ("Give 84 / 2.", ["Half of eighty four is forty two #### 42", "Split eighty four in two parts #### 42",
                      "Half of eighty four is forty two #### 42", "Dividing by two leaves forty two #### 42"]),
]
POISON = [("Name a plant.", ["Poison ivy grows near the river bank #### 42", "Poison oak grows on the dry hill #### 42",
                             "Roses grow in the old garden wall #### 42", "Ferns grow in the dark wet wood #### 42"])]
CUSTOM_FN = '''
def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    if ground_truth == "nan":
        return float("nan")
    if ground_truth == "none":
        return None
    return 1.0 if solution_str.endswith(ground_truth) else 0.0
'''


@pytest.fixture(scope="module")
def reward_fn(tmp_path_factory):
    path = tmp_path_factory.mktemp("fn") / "reward.py"
    path.write_text(CUSTOM_FN)
    return str(path)


_NAMES = iter(range(10_000))


def manager(tok_dir, tokenizer, *extra, rendezvous="local", judge="unigram", url=None):
    """A manager built by verl's load_reward_manager, with its own rendezvous (unique actor name)."""
    from verl.trainer.ppo.reward import load_reward_manager

    overrides = [f"actor_rollout_ref.model.path={tok_dir}", "actor_rollout_ref.rollout.n=4", "reward.num_workers=2",
                 "reward.reward_manager.name=darling", f"+reward.reward_kwargs.judge={judge}",
                 f"+reward.reward_kwargs.rendezvous={rendezvous}",
                 f"+reward.reward_kwargs.actor_name=rel{next(_NAMES)}", *extra]
    if url is not None:
        overrides += [f"+reward.reward_kwargs.judge_options.url={url}", "+reward.reward_kwargs.judge_options.retries=1"]
    return load_reward_manager(verl_config(overrides), tokenizer)


def stats(m):
    rz = m.rendezvous
    return rz.get_stats() if hasattr(rz, "scorer") else ray.get(rz.get_stats.remote())


def texts_of(tokenizer, data):
    n_prompt = data.batch["prompts"].shape[1]
    out = []
    for i in range(len(data)):
        valid = int(data.batch["attention_mask"][i, n_prompt:].sum())
        out.append(tokenizer.decode(data.batch["responses"][i, :valid], skip_special_tokens=True))
    return out


def expected(texts, quality, judge="unigram"):
    return dm.darling_reward(dm.partition(texts, judge=judge, strategy="transitive"), quality)


def remote_expected(texts, quality):
    """The expected rewards with the same (Jaccard) judge, served without faults."""
    with JudgeServer() as ref:
        return expected(texts, quality, judge=dm.get_judge("remote", url=ref.url))


def run_rows(m, rows, *, delay=0.0):
    """run_single on each 1-row DataProto (in order, ``delay`` s apart); results or exceptions, in order."""

    async def go():
        tasks = []
        for row in rows:
            tasks.append(asyncio.ensure_future(m.run_single(row)))
            if delay:
                await asyncio.sleep(delay)
        return await asyncio.gather(*tasks, return_exceptions=True)

    return m.loop.run_until_complete(go())


def rows_of(data):
    return [data[i : i + 1] for i in range(len(data))]


@pytest.mark.parametrize("rendezvous", ["local", "ray"])
def test_padded_copy_during_judging_gets_its_originals_result_at_once(ray_session, tok_dir, tokenizer, rendezvous):
    """A copy of row 2 arriving while its group is judged (a 2 s judge) is answered with the group, not timeout_s later."""
    with JudgeServer(delay=2.0) as server:
        m = manager(tok_dir, tokenizer, "+reward.reward_kwargs.timeout_s=30", rendezvous=rendezvous, judge="remote",
                    url=server.url)
        data = make_batch(tokenizer, GROUPS[:1])

        async def go():
            async def timed(row):
                out = await m.run_single(row)
                return out, time.monotonic()

            group = [asyncio.ensure_future(timed(row)) for row in rows_of(data)]
            while server.requests == 0:  # the group is closed and its pairs are at the judge
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            copy = asyncio.ensure_future(timed(data[2:3]))
            return await asyncio.gather(*group), await copy

        group, (copy, copy_done) = m.loop.run_until_complete(go())
        assert server.requests == 1  # the copy never reached the judge
    group_done = max(t for _, t in group)
    assert copy_done - group_done < 1.0, copy_done - group_done
    assert copy == group[2][0]
    texts = texts_of(tokenizer, data)
    want = remote_expected(texts, [1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose([r["reward_score"] for r, _ in group], want)
    assert stats(m)["copies"] == 1


@pytest.mark.parametrize("rendezvous", ["local", "ray"])
def test_a_bad_quality_fails_only_its_group(ray_session, tok_dir, tokenizer, reward_fn, rendezvous):
    """NaN and None qualities fail their own group at once (no timeout); the other groups get their exact rewards."""
    m = manager(tok_dir, tokenizer, f"reward.custom_reward_function.path={reward_fn}",
                "+reward.reward_kwargs.timeout_s=60", rendezvous=rendezvous)
    good = make_batch(tokenizer, GROUPS[:2], data_source="x")
    nan = make_batch(tokenizer, GROUPS[2:], data_source="x", ground_truth="nan", uids=["bad-nan"] * 4)
    none = make_batch(tokenizer, POISON, data_source="x", ground_truth="none", uids=["bad-none"] * 4)
    start = time.monotonic()
    rows = rows_of(good)
    out = run_rows(m, rows[:4] + rows_of(nan) + rows[4:] + rows_of(none))
    assert time.monotonic() - start < 30
    got_good = out[:4] + out[8:12]
    texts = texts_of(tokenizer, good)
    quality = [1.0 if t.endswith("42") else 0.0 for t in texts]
    want = np.concatenate([expected(texts[:4], quality[:4]), expected(texts[4:], quality[4:])])
    np.testing.assert_allclose([r["reward_score"] for r in got_good], want)
    for r in out[4:8]:
        assert isinstance(r, ValueError) and "group 'bad-nan' has non-finite quality at positions [0, 1, 2, 3]" in str(r)
    for r in out[12:]:
        assert isinstance(r, TypeError)  # each member's own cause: float(None)
    s = stats(m)
    assert s["groups"] == 2 and s["bad_quality_groups"] == 2 and s["failed_groups"] == 2


@pytest.mark.parametrize("rendezvous", ["local", "ray"])
@pytest.mark.parametrize("on_error", ["error", "quality_only"])
def test_a_judge_failure_stays_with_its_group(ray_session, tok_dir, tokenizer, rendezvous, on_error):
    """The judge refuses the poisoned group's pairs (HTTP 400) while that group shares a batch with a good one."""
    with JudgeServer(delay=1.0, poison="Poison") as server:
        m = manager(tok_dir, tokenizer, f"+reward.reward_kwargs.on_judge_error={on_error}", rendezvous=rendezvous,
                    judge="remote", url=server.url)
        first = make_batch(tokenizer, GROUPS[:1], uids=["g0"] * 4)
        good = make_batch(tokenizer, GROUPS[1:2], uids=["g1"] * 4)
        bad = make_batch(tokenizer, POISON, uids=["poison"] * 4)

        async def go():
            head = [asyncio.ensure_future(m.run_single(r)) for r in rows_of(first)]
            while server.requests == 0:  # g0 is at the (slow) judge: g1 and the poisoned group queue together
                await asyncio.sleep(0.01)
            rest = [asyncio.ensure_future(m.run_single(r)) for r in rows_of(good) + rows_of(bad)]
            return await asyncio.gather(*head, *rest, return_exceptions=True)

        out = m.loop.run_until_complete(go())
    texts = texts_of(tokenizer, first) + texts_of(tokenizer, good)
    quality = [1.0 if t.endswith("42") else 0.0 for t in texts]
    want = np.concatenate([remote_expected(texts[:4], quality[:4]), remote_expected(texts[4:], quality[4:])])
    np.testing.assert_allclose([r["reward_score"] for r in out[:8]], want)
    assert {r["reward_extra_info"]["darling_status"] for r in out[:8]} == {0}
    s = stats(m)
    assert s["isolation_retries"] == 1 and s["judge_failed_groups"] == 1
    if on_error == "error":
        for r in out[8:]:
            assert isinstance(r, RuntimeError) and "failed on group 'poison'" in str(r) and "HTTP 400" in str(r)
    else:
        assert [r["reward_score"] for r in out[8:]] == [1.0] * 4
        assert {r["reward_extra_info"]["darling_status"] for r in out[8:]} == {2}
        assert s["quality_only_groups"] == 1 and s["quality_only_rows"] == 4


# The decoded prompt tokens of a chat-templated prompt (Qwen2.5's template, special tokens skipped) and the
# dataset's chat that verl hands over as raw_prompt. The learned judge reads the prompt; with the template's words
# ("system", "You are ...", "assistant") as the question it splits a paraphrase it merges under the user message.
ASKED = "Give me a tip for staying focused while studying."
TEMPLATED = f"system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\nuser\n{ASKED}\nassistant\n"
TIPS = ["Keep your phone out of reach, ideally in a different room, during study sessions.",  # probe B, group bs10:
        "Study without your phone nearby; leave it somewhere you can't see it.",  # two paraphrases, two other answers
        "Put your phone on the desk so you can check the time while you study.",
        "Study in 25-minute blocks with five-minute breaks in between."]
BY_USER, BY_TEMPLATE = [0, 0, 1, 2], [0, 1, 2, 3]  # the shipped judge (v6) under the question / the decoded template


@pytest.mark.parametrize("rendezvous", ["local", "ray"])
def test_the_judge_reads_the_user_message_not_the_chat_template(ray_session, tok_dir, tokenizer, reward_fn,
                                                                 rendezvous):
    """raw_prompt present (verl's default): the group is judged under its last user message, as in TRL and the
    Python API; without raw_prompt the decoded prompt is all there is, template words included."""
    from diversity_metrics.judges.learned import LearnedJudge
    from diversity_metrics.metrics.partition_metrics import canonical_labels

    judge = LearnedJudge.load(device="cpu")
    by_user = dm.partition(TIPS, prompt=ASKED, judge=judge, strategy="transitive")
    by_template = dm.partition(TIPS, prompt=TEMPLATED, judge=judge, strategy="transitive")
    assert by_user == BY_USER and by_template == BY_TEMPLATE  # the two prompts really disagree here
    quality = [1.0] * 4
    for raw, want in (([{"role": "user", "content": ASKED}], by_user), (None, by_template)):
        m = manager(tok_dir, tokenizer, f"reward.custom_reward_function.path={reward_fn}", rendezvous=rendezvous,
                    judge="learned")
        data = make_batch(tokenizer, [(TEMPLATED, TIPS)], data_source="chat", ground_truth=".",
                          raw_prompts=None if raw is None else [raw])
        out = run_rows(m, rows_of(data))
        # class numbers follow arrival order at the rendezvous: compare the partitions, not the numbering
        assert canonical_labels([r["reward_extra_info"]["darling_class"] for r in out]) == want
        np.testing.assert_allclose([r["reward_score"] for r in out], dm.darling_reward(want, quality))


def test_one_uid_with_two_prompts_is_two_groups(ray_session, tok_dir, tokenizer):
    m = manager(tok_dir, tokenizer)
    data = make_batch(tokenizer, GROUPS[:2], uids=["same"] * 8)
    out = run_rows(m, rows_of(data))
    texts = texts_of(tokenizer, data)
    quality = [1.0 if t.endswith("42") else 0.0 for t in texts]
    want = np.concatenate([expected(texts[:4], quality[:4]), expected(texts[4:], quality[4:])])
    np.testing.assert_allclose([r["reward_score"] for r in out], want)
    assert {r["reward_extra_info"]["darling_group_size"] for r in out} == {4}
    assert stats(m)["uid_prompt_conflicts"] == 1 and stats(m)["groups"] == 2


def test_members_disagreeing_on_the_group_size_use_the_first_members(ray_session, tok_dir, tokenizer):
    m = manager(tok_dir, tokenizer)
    data = make_batch(tokenizer, GROUPS[1:2])
    data.non_tensor_batch["darling_group_size"] = np.array([4, 3, 4, 4], dtype=object)
    out = run_rows(m, rows_of(data), delay=0.1)
    texts = texts_of(tokenizer, data)
    np.testing.assert_allclose([r["reward_score"] for r in out], expected(texts, [1.0, 0.0, 1.0, 1.0]))
    assert {r["reward_extra_info"]["darling_group_size"] for r in out} == {4}
    assert {r["reward_extra_info"]["darling_status"] for r in out} == {0}
    assert stats(m)["size_conflicts"] == 1


def test_the_same_rollout_twice_takes_a_slot_and_the_last_member_is_a_late_extra(ray_session, tok_dir, tokenizer):
    m = manager(tok_dir, tokenizer)
    data = make_batch(tokenizer, GROUPS[1:2])
    rows = rows_of(data)
    out = run_rows(m, [rows[0], rows[1], rows[1], rows[2], rows[3]], delay=0.1)
    texts = texts_of(tokenizer, data)
    q = [1.0, 0.0, 1.0, 1.0]
    first4 = expected([texts[0], texts[1], texts[1], texts[2]], [q[0], q[1], q[1], q[2]])
    np.testing.assert_allclose([r["reward_score"] for r in out[:4]], first4)
    late = expected([texts[0], texts[1], texts[1], texts[2], texts[3]], [q[0], q[1], q[1], q[2], q[3]])
    assert out[4]["reward_score"] == pytest.approx(late[-1])
    assert out[4]["reward_extra_info"]["darling_status"] == 3
    s = stats(m)
    assert s["repeated_texts"] == 1 and s["late_extra"] == 1


def test_reused_uid_after_close(ray_session, tok_dir, tokenizer):
    """Same uid, other prompt: a new group of its own. Same uid and prompt, a new text: one late extra rollout."""
    m = manager(tok_dir, tokenizer)
    a = make_batch(tokenizer, GROUPS[:1], uids=["r"] * 4)
    b = make_batch(tokenizer, GROUPS[1:2], uids=["r"] * 4)
    first = run_rows(m, rows_of(a))
    second = run_rows(m, rows_of(b))
    tb = texts_of(tokenizer, b)
    np.testing.assert_allclose([r["reward_score"] for r in second], expected(tb, [1.0, 0.0, 1.0, 1.0]))
    assert {r["reward_extra_info"]["darling_status"] for r in first + second} == {0}
    again = make_batch(tokenizer, [(GROUPS[0][0], ["A brand new way to reach forty two #### 42"])], uids=["r"])
    late = run_rows(m, rows_of(again))[0]
    ta = texts_of(tokenizer, a) + texts_of(tokenizer, again)
    assert late["reward_score"] == pytest.approx(expected(ta, [1.0, 1.0, 0.0, 1.0, 1.0])[-1])
    assert late["reward_extra_info"]["darling_status"] == 3
    s = stats(m)
    assert s["uid_prompt_conflicts"] == 1 and s["late_extra"] == 1 and s["groups"] == 2


def test_late_member_with_the_same_text_keeps_its_own_quality(ray_session, tok_dir, tokenizer):
    """Same text as member 2 (quality 0) but its own ground truth says 1: not a copy, scored with quality 1."""
    m = manager(tok_dir, tokenizer)
    data = make_batch(tokenizer, GROUPS[:1], uids=["q"] * 4)
    first = run_rows(m, rows_of(data))
    assert first[2]["reward_score"] == 0.0
    late_row = make_batch(tokenizer, [(GROUPS[0][0], [GROUPS[0][1][2]])], uids=["q"], ground_truth="41")
    late = run_rows(m, rows_of(late_row))[0]
    texts = texts_of(tokenizer, data) + texts_of(tokenizer, late_row)
    assert late["reward_extra_info"]["darling_quality"] == 1.0
    assert late["reward_extra_info"]["darling_status"] == 3
    assert late["reward_score"] == pytest.approx(expected(texts, [1.0, 1.0, 0.0, 1.0, 1.0])[-1])
    # a true copy (same text, same quality) still gets the member's result
    assert run_rows(m, rows_of(data[2:3]))[0] == first[2]
    assert stats(m)["copies"] == 1 and stats(m)["late_extra"] == 1


def test_unschedulable_rendezvous_actor_fails_fast_naming_the_resources(ray_session, tok_dir, tokenizer):
    m = manager(tok_dir, tokenizer, "+reward.reward_kwargs.actor_num_cpus=64", "+reward.reward_kwargs.timeout_s=20",
                rendezvous="ray")
    start = time.monotonic()
    out = run_rows(m, rows_of(make_batch(tokenizer, GROUPS[:1])))
    assert time.monotonic() - start < 20
    for r in out:
        assert isinstance(r, RuntimeError)
        assert "num_cpus=64" in str(r) and "CPU=4, GPU=0 in all" in str(r)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+reward.reward_kwargs.strategy=transitiv", "strategy"),
        ("++reward.reward_kwargs.judge=no-such-judge", "unknown judge 'no-such-judge'"),
        ("+reward.reward_kwargs.judge_options.thresold=0.3", "thresold"),
        ("+reward.reward_kwargs.flor=0.1", "flor"),
        ("+reward.reward_kwargs.judge_options.url=http://127.0.0.1:9", "url"),  # unigram takes no url
    ],
)
def test_configuration_errors_fail_when_the_manager_is_built(tok_dir, tokenizer, override, message):
    """Even with on_judge_error=quality_only: that option covers runtime judge failures, never a config error."""
    with pytest.raises((ValueError, TypeError), match=message):
        manager(tok_dir, tokenizer, override, "+reward.reward_kwargs.on_judge_error=quality_only")


def test_unknown_operating_point_fails_when_the_manager_is_built(tok_dir, tokenizer):
    with pytest.raises((ValueError, TypeError), match="operating_point"):
        manager(tok_dir, tokenizer, "+reward.reward_kwargs.judge_options.operating_point=bogus",
                "+reward.reward_kwargs.on_judge_error=quality_only", judge="learned")


def test_unreachable_judge_at_runtime_is_quality_only_and_counted(ray_session, tok_dir, tokenizer):
    with JudgeServer() as server:
        url = server.url  # closed below: nothing listens there any more
    m = manager(tok_dir, tokenizer, "+reward.reward_kwargs.on_judge_error=quality_only", judge="remote", url=url)
    out = run_rows(m, rows_of(make_batch(tokenizer, GROUPS[:2])))
    assert [r["reward_score"] for r in out] == [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert {r["reward_extra_info"]["darling_status"] for r in out} == {2}
    s = stats(m)
    assert s["quality_only_groups"] == 2 and s["quality_only_rows"] == 8


def test_diversity_off_refuses_a_nan_quality(tok_dir, tokenizer, reward_fn):
    m = manager(tok_dir, tokenizer, f"reward.custom_reward_function.path={reward_fn}",
                "+reward.reward_kwargs.diversity=false")
    out = run_rows(m, rows_of(make_batch(tokenizer, GROUPS[:1], data_source="x", ground_truth="nan")))
    for r in out:
        assert isinstance(r, ValueError) and "non-finite quality" in str(r)
