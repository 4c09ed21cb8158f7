"""The bases of subspaces are fixed by the subspace alone, so results do not depend on the BLAS kernel.

An eigenbasis of a degenerate eigenvalue (the tangent projector has eigenvalue 1 with
multiplicity ``(n - m) d``), or the singular vectors of a zero singular value of multiplicity
``> 1``, is returned by LAPACK in a rotation that a perturbation of rounding size changes
completely: the old ``tangent_basis`` (eigh of the projector) and ``teacher_span_basis`` (full
SVD) moved every drawn direction and every product rule with the BLAS kernel. These tests
perturb the input by rounding-size amounts and compare: a basis that depends on the subspace
only moves by rounding-size amounts (bound 1e-12, against O(1) for an eigensolver's rotation).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import gmmlit
from gmmlit.core.geometry import tangent_basis, tangent_projector
from gmmlit.core.mixture import Mixture
from gmmlit.core.quadrature import ProductRule, teacher_span_basis
from gmmlit.core.span import canonical_basis

#: Rounding-size perturbation applied to the inputs, and the bound on the change of a basis fixed
#: by the subspace: the perturbation times a condition number of the construction (at most a few
#: hundred for these inputs) is below 1e-12 with a margin of more than 1e4.
PERTURBATION = 1e-15
BASIS_TOLERANCE = 1e-12


def _instances():
    return [gmmlit.triangle_instance(), gmmlit.figure1_instance(), gmmlit.figure1_instance(dim=2)]


@pytest.mark.parametrize("index", range(3))
def test_tangent_basis_is_orthonormal_and_spans_t(index):
    inst = _instances()[index]
    b = tangent_basis(inst.weights, inst.assignment, inst.d)
    n, m, d = inst.weights.size, inst.m, inst.d
    assert b.shape == (n * d, (n - m) * d)
    assert np.abs(b.T @ b - np.eye(b.shape[1])).max() < 1e-13          # orthonormal to rounding
    assert np.abs(b @ b.T - tangent_projector(inst.weights, inst.assignment, d)).max() < 1e-13


@pytest.mark.parametrize("index", range(3))
def test_tangent_basis_moves_by_rounding_only(index):
    inst = _instances()[index]
    w = inst.weights * (1 + PERTURBATION * np.random.default_rng(index).standard_normal(inst.weights.size))
    b0 = tangent_basis(inst.weights, inst.assignment, inst.d)
    b1 = tangent_basis(w / w.sum(), inst.assignment, inst.d)
    assert np.abs(b0 - b1).max() < BASIS_TOLERANCE


def test_eigenbasis_of_the_projector_would_not_be_fixed():
    """The construction this replaces: the eigenbasis of the projector rotates under the same
    perturbation (so the test above can tell the two apart)."""
    inst = gmmlit.figure1_instance()
    w = inst.weights * (1 + PERTURBATION * np.random.default_rng(0).standard_normal(inst.weights.size))

    def eigenbasis(weights):
        vals, vecs = np.linalg.eigh(tangent_projector(weights, inst.assignment, inst.d))
        return vecs[:, vals > 0.5]

    assert np.abs(eigenbasis(inst.weights) - eigenbasis(w / w.sum())).max() > 1e-6


@pytest.mark.parametrize("dim", [3, 5, 8])
def test_teacher_span_basis_is_fixed_by_the_span(dim):
    rng = np.random.default_rng(dim)
    means = rng.standard_normal((3, dim)) * 3
    teacher = Mixture([0.5, 0.3, 0.2], means)
    u_span, u_orth = teacher_span_basis(teacher)
    assert u_span.shape == (dim, 2) and u_orth.shape == (dim, dim - 2)
    full = np.c_[u_span, u_orth]
    assert np.abs(full.T @ full - np.eye(dim)).max() < 1e-13
    # the same span from permuted and rounding-perturbed means: the same bases
    other = Mixture([0.2, 0.5, 0.3], means[[2, 0, 1]] * (1 + PERTURBATION * rng.standard_normal((3, dim))))
    v_span, v_orth = teacher_span_basis(other)
    assert np.abs(u_span - v_span).max() < BASIS_TOLERANCE and np.abs(u_orth - v_orth).max() < BASIS_TOLERANCE
    # and so the same product rule
    z0, w0 = ProductRule(0.5, 6.0, 3).nodes(teacher)
    z1, w1 = ProductRule(0.5, 6.0, 3).nodes(other)
    assert np.abs(z0 - z1).max() < 1e-11 and np.array_equal(w0, w1)


@pytest.mark.parametrize("rank", [0, 1, 3, 6])
def test_canonical_basis_keeps_rank_columns(rank):
    q = np.linalg.qr(np.random.default_rng(rank).standard_normal((6, 6)))[0][:, :rank]
    b = canonical_basis(q @ q.T, rank)
    assert b.shape == (6, rank)
    assert np.allclose(b.T @ b, np.eye(rank), rtol=0, atol=1e-13)
    assert np.allclose(b @ b.T, q @ q.T, rtol=0, atol=1e-13)


def test_canonical_basis_refuses_a_wrong_rank():
    with pytest.raises(ValueError, match="rank"):
        canonical_basis(np.diag([1.0, 0.0, 0.0]), 2)


_SCRIPT = """
import numpy as np, gmmlit
from gmmlit.core.geometry import tangent_basis
from gmmlit.core.quadrature import teacher_span_basis
inst = gmmlit.figure1_instance()
b = tangent_basis(inst.weights, inst.assignment, inst.d)
s, o = teacher_span_basis(inst.teacher)
np.save(__import__("sys").argv[1], np.concatenate([b.ravel(), s.ravel(), o.ravel()]))
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OPENBLAS_CORETYPE names x86-64 kernels")
def test_bases_agree_across_blas_kernels(tmp_path):
    """The bases computed under two OpenBLAS kernels (each in a process of its own) agree to rounding."""
    out = {}
    for kernel in ("Prescott", "Haswell"):
        env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_NUM_THREADS="1")
        path = tmp_path / f"{kernel}.npy"
        subprocess.run([sys.executable, "-c", _SCRIPT, str(path)], check=True, env=env)
        out[kernel] = np.load(path)
    assert np.abs(out["Prescott"] - out["Haswell"]).max() < BASIS_TOLERANCE
