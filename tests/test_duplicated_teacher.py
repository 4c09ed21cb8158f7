"""Duplicated teacher components are merged with a warning, and the minimiser is right there
(issue 23, item 4)."""

import numpy as np
import pytest

import gmmlit
from gmmlit import DuplicateComponentsWarning, Mixture, PopulationKL, make_instance, minimizer

# components 0 and 1 share the mean -2: the teacher is 0.5 N(-2) + 0.5 N(2)
TEACHER = Mixture([0.25, 0.25, 0.5], [[-2.0], [-2.0], [2.0]])
# {0.4, 0.1} -> the merged weight 0.5 at -2, {0.5} -> 2: L* = 0; against the components as
# given the best mismatch is 0.3 (0.4 and 0.1 cannot each make 0.25)
WEIGHTS = np.array([0.4, 0.1, 0.5])


def test_merge_duplicates_keeps_the_density():
    merged, labels = TEACHER.merge_duplicates()
    np.testing.assert_array_equal(labels, [0, 0, 1])
    np.testing.assert_array_equal(merged.weights, [0.5, 0.5])
    x = np.linspace(-6, 6, 41)[:, None]
    np.testing.assert_allclose(merged.logpdf(x), TEACHER.logpdf(x), rtol=0, atol=1e-14)
    distinct = Mixture([0.5, 0.5], [[0.0], [1.0]])
    assert distinct.merge_duplicates()[0] is distinct  # nothing to merge: the same object


def test_minimizer_of_a_duplicated_teacher_reaches_zero():
    with pytest.warns(DuplicateComponentsWarning, match=r"components \[\[0, 1\]\] have the same mean"):
        means_star, a = minimizer(TEACHER, WEIGHTS)
    np.testing.assert_array_equal(means_star[:, 0], [-2.0, -2.0, 2.0])
    with pytest.warns(DuplicateComponentsWarning):
        f = PopulationKL(TEACHER, WEIGHTS)
    assert f.teacher.n_components == 2
    # L(theta*) is zero up to the rule's accuracy; the ravine run reached 6.9e-28
    assert f.loss(means_star) < 1e-20


def test_make_instance_maps_a_given_assignment_onto_the_merged_teacher():
    with pytest.warns(DuplicateComponentsWarning):
        inst = make_instance(TEACHER, WEIGHTS, [0, 1, 2])
    assert inst.teacher.n_components == 2 and inst.delta_pi == 0.0
    np.testing.assert_array_equal(inst.assignment, [0, 0, 1])


def test_every_gmmlit_warning_is_one_family():
    for cls in (gmmlit.NotCertifiedWarning, DuplicateComponentsWarning):
        assert issubclass(cls, gmmlit.GmmlitWarning)
    assert issubclass(gmmlit.NotCertifiedWarning, RuntimeWarning)  # old filters keep working
