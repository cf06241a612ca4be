"""The comparison's statistics and wording, from fixed predictions whose answers are known by hand."""
import numpy as np
import pytest

from src.reporting.compare import CompareError, Runs, ablation, analyse, holm, interval, paired_test

CLASSES = ["a", "b", "c", "d"]


def runs_from(preds: dict[str, list[int]], truth: list[int], family: dict | None = None) -> dict[str, Runs]:
    y = np.array(truth)
    ids = [f"clip{i:03d}" for i in range(len(y))]
    out = {}
    for name, p in preds.items():
        p = np.array(p)
        ev = dict(family=(family or {}).get(name, "temporal"), parameters=1000, gflops_per_clip=0.1,
                  train_seconds=1.0, per_class_f1={c: 0.5 for c in CLASSES})
        out[name] = Runs(name, ev["family"], [0], {"test": y}, {"test": p[None, :]}, [ev], {"test": ids})
    return out


def test_mcnemar_exact_p_matches_the_binomial_by_hand():
    # A right where B is wrong on 8 clips, B right where A is wrong on 1, both right on 31
    y = [0] * 40
    a = [0] * 39 + [1]
    b = [1] * 8 + [0] * 31 + [0]
    runs = runs_from({"A": a, "B": b}, y)
    t = paired_test(runs["A"], runs["B"])
    assert t["table"] == [[31, 8], [1, 0]]
    assert t["p"] == pytest.approx(2 * (1 + 9) / 2 ** 9)   # two-sided exact binomial, n = 9 discordant pairs
    assert t["diff"] == pytest.approx(7 / 40)


def test_bootstrap_interval_agrees_with_the_normal_approximation_by_hand():
    correct = np.array([1.0] * 160 + [0.0] * 40)              # accuracy 0.8 on 200 clips
    lo, hi = interval(lambda i: correct[i].mean(), len(correct))
    half = 1.96 * np.sqrt(0.8 * 0.2 / 200)                    # 0.0554
    assert lo[0] == pytest.approx(0.8 - half, abs=0.012) and hi[0] == pytest.approx(0.8 + half, abs=0.012)


def test_paired_difference_interval_by_hand():
    y = [0] * 100
    runs = runs_from({"A": [0] * 100, "B": [0] * 80 + [1] * 20}, y)
    t = paired_test(runs["A"], runs["B"])
    half = 1.96 * np.sqrt(0.2 * 0.8 / 100)
    assert t["diff"] == pytest.approx(0.2)
    assert t["ci"][0] == pytest.approx(0.2 - half, abs=0.02) and t["ci"][1] == pytest.approx(0.2 + half, abs=0.02)


def test_holm_adjusts_the_smallest_p_by_the_number_of_tests():
    tests = holm([dict(p=0.01), dict(p=0.04), dict(p=0.5)])
    assert [t["p_holm"] for t in tests] == pytest.approx([0.03, 0.08, 0.5])


def balanced(n_per_class: int) -> list[int]:
    return [k for k in range(4) for _ in range(n_per_class)]


def test_verdict_clear_win():
    y = balanced(20)
    wrong_half = [(k + 1) % 4 if i % 2 else k for i, k in enumerate(y)]
    a = analyse(runs_from({"good": y, "half": wrong_half}, y), CLASSES, [])
    v = a["versus_best"][0]
    assert a["best_model"] == "good" and v["outcome"] == "beats"
    assert v["verdict"].startswith("good beats half by 0.500 (95% CI [") and "p < 0.001)" in v["verdict"]


def test_verdict_tie():
    y = balanced(20)
    p1 = [(k + 1) % 4 if i % 5 == 0 else k for i, k in enumerate(y)]
    p2 = [(k + 1) % 4 if i % 5 == 1 else k for i, k in enumerate(y)]
    v = analyse(runs_from({"one": p1, "two": p2}, y), CLASSES, [])["versus_best"][0]
    assert v["outcome"] == "no_difference" and v["verdict"].startswith("no significant difference between")


def test_verdict_too_few_clips():
    y = balanced(3)                      # 3 test clips per class: under 10
    wrong = [(k + 1) % 4 for k in y]
    a = analyse(runs_from({"good": y, "bad": wrong}, y), CLASSES, [])
    assert a["too_few_clips"] and a["versus_best"][0]["outcome"] == "too_few"
    assert a["versus_best"][0]["verdict"] == "good vs bad: too few test clips to tell"


def test_family_question_and_order_pair_probe_are_answered():
    y = balanced(20)
    frame = [1 if k == 0 else 0 if k == 1 else k for k in y]  # swaps the order pair (a, b): 0 on the pair
    runs = runs_from({"video": y, "frame": frame, "pose": y}, y,
                     family={"video": "temporal", "frame": "frame", "pose": "pose"})
    a = analyse(runs, CLASSES, [("a", "b")])
    fams = {(t["a"], t["b"]): t["outcome"] for t in a["families"]}
    assert fams[("video", "frame")] == "beats" and fams[("video", "pose")] == "no_difference"
    probe = a["order_pair"]["tests"][0]
    assert probe["clips"] == 40 and probe["outcome"] == "beats" and probe["verdict"].startswith("video beats frame")


def test_every_temporal_model_is_probed_on_the_order_pair():
    """Each video model against the per-frame one on the pair, best first: the one that reads the order beats it,
    the one that does not is no different."""
    y = balanced(20)
    frame = [1 if k == 0 else 0 if k == 1 else k for k in y]  # swaps the order pair: 0 on the pair
    runs = runs_from({"reads": y, "blind": frame, "frame": frame}, y,
                     family={"reads": "temporal", "blind": "temporal", "frame": "frame"})
    tests = analyse(runs, CLASSES, [("a", "b")])["order_pair"]["tests"]
    assert [(t["a"], t["outcome"]) for t in tests] == [("reads", "beats"), ("blind", "no_difference")]


def test_shifted_split_backgrounds_are_never_seen_in_training():
    import numpy as np
    from src.sources import cartoon
    assert not set(cartoon.NATURAL_TRAIN) & set(cartoon.NATURAL_SHIFTED)
    lo_train, hi_train = cartoon.HEIGHT_TRAIN
    lo_shift, hi_shift = cartoon.HEIGHT_SHIFTED
    assert hi_shift < lo_train  # every shifted camera is farther than any training one
    for i in range(200):
        rng = np.random.default_rng(i)
        train = cartoon.draw_look(rng, 100, 3.0, "train")
        shifted = cartoon.draw_look(np.random.default_rng(i), 100, 3.0, "shifted")
        if train.background.startswith("natural:"):
            assert train.background.split(":")[1] in cartoon.NATURAL_TRAIN
        assert shifted.background.split(":")[1] in cartoon.NATURAL_SHIFTED
        assert lo_shift <= shifted.height_frac <= hi_shift and lo_train <= train.height_frac <= hi_train


def test_a_missing_run_stops_the_comparison_naming_it(tmp_path):
    from src.reporting.compare import CompareError, load_runs
    (tmp_path / "m" / "seed0").mkdir(parents=True)
    with pytest.raises(CompareError) as exc:
        load_runs(["m"], [0], tmp_path, CLASSES)
    assert "the run m (seed 0) is missing" in str(exc.value) and "compare_run@m-0" in str(exc.value)


def test_the_ablation_sets_true_joints_beside_mediapipe_on_the_same_clips():
    y = [0, 1, 2, 3] * 10
    mediapipe = runs_from({"stgcn": [0, 1, 2, 3] * 5 + [1, 1, 1, 1] * 5}, y)          # right on 25 of 40
    truth = runs_from({"stgcn": y}, y)                                                 # right on all 40
    (t,) = ablation(truth, mediapipe, len(CLASSES))
    assert (t["model"], t["split"], t["a"]) == ("stgcn", "test", "stgcn (true joints)")
    assert (t["mediapipe_top1"], t["truth_top1"], t["diff"]) == (0.625, 1.0, 0.375)
    assert t["table"] == [[25, 15], [0, 0]] and t["outcome"] == "beats"
    moved = runs_from({"stgcn": y}, y)
    moved["stgcn"].clip_ids["test"] = [f"other{i}" for i in range(len(y))]
    with pytest.raises(CompareError, match="other test clips"):
        ablation(moved, mediapipe, len(CLASSES))
