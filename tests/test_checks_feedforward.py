"""Chapter 01's checks: the differentiability test and the DAC reasoning exercise."""

import pytest
import torch

from dclearn.checks import ExerciseCheckError
from dclearn.checks.feedforward import check_mutual_information, check_positive_fraction
from dclearn.methods.feedforward.rim import mutual_information


def test_mutual_information_must_stay_differentiable(capsys):
    check_mutual_information(mutual_information)
    assert "OK" in capsys.readouterr().out
    as_floats = lambda p: tuple(float(v.detach()) for v in mutual_information(p))  # noqa: E731
    with pytest.raises(ExerciseCheckError, match=r"not a torch tensor.*\.item\(\)"):
        check_mutual_information(as_floats)
    detached = lambda p: tuple(v.detach() for v in mutual_information(p))  # noqa: E731
    with pytest.raises(ExerciseCheckError, match="cut from the autograd graph"):
        check_mutual_information(detached)
    as_numpy = lambda p: tuple(v.detach().numpy() for v in mutual_information(p))  # noqa: E731
    with pytest.raises(ExerciseCheckError, match="ndarray, not a torch tensor"):
        check_mutual_information(as_numpy)

    def frozen_marginal(p):  # H(Y) from a detached mean: right value, wrong gradient
        mi, h_y, h_y_x = mutual_information(p)
        return h_y.detach() - h_y_x, h_y.detach(), h_y_x

    with pytest.raises(ExerciseCheckError, match="not the right gradient"):
        check_mutual_information(frozen_marginal)


def test_positive_fraction_check(capsys):
    check_positive_fraction(lambda k, b: 1 / b + (1 - 1 / b) / k)
    assert "OK" in capsys.readouterr().out
    wrong = {"ignores the B diagonal pairs": lambda k, b: 1 / k,
             "left out the diagonal": lambda k, b: (b - 1) / (b * k),
             "1/K\\^2": lambda k, b: 1 / k ** 2,
             "expected 0.1035": lambda k, b: 0.5,
             "return statement": lambda k, b: None,
             "one number": lambda k, b: "1/K"}
    for words, fn in wrong.items():
        with pytest.raises(ExerciseCheckError, match=words):
            check_positive_fraction(fn)
    with pytest.raises(ExerciseCheckError, match="simulation"):  # the message shows the evidence
        check_positive_fraction(lambda k, b: torch.tensor(1 / k))
