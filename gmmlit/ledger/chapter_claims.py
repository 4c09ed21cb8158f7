"""Claims stated in the chapters on the ravine, the slowdown, the Polyak step, arbitrary
weights, the global phase, the methods and the integration rules, with the tests that
verify them.

Each check here names a test in ``tests/`` (run by the test suite; the ledger verifies
that it exists). The claims verified by callable sympy and numerical checks are
registered in :mod:`gmmlit.ledger.claims` itself.
"""

from __future__ import annotations

from .claims import Check, Claim, register


def _claim(claim_id, statement, chapter, *tests, kind="numerical"):
    register(Claim(claim_id, statement, chapter, tuple(Check(kind, test=t) for t in tests)))


_claim("computing.default-rule-accuracy",
       "With the default rule, loss and gradient have relative error $\\le 10^{-10}$ in $d=1,2$ "
       "for $m\\le3$ teachers with separations up to 10, near and away from the minimiser; the one "
       "exception, the gradient along $T$ at distance $10^{-2}$ (relative error up to $5\\cdot10^{-10}$), "
       "is the float64 rounding of $s$, an absolute $10^{-17}$.",
       "book/computing", "test_accuracy::test_default_rule_accuracy")
_claim("computing.bregman-any-rule",
       "The discretised Bregman form is $\\ge0$ and exactly 0 with zero gradient at $\\theta^*$ with any "
       "rule; the naive form is not.", "book/computing",
       "test_accuracy::test_bregman_form_is_exact_at_the_minimiser_with_any_rule_naive_form_is_not",
       "test_accuracy::test_loss_and_gradient_vanish_at_the_minimiser")
_claim("computing.affine-span",
       "The KL depends on $x$ only through the affine span of all means: the integral reduces exactly.",
       "book/computing", "test_accuracy::test_reduction_to_the_affine_span_is_exact")

_claim("ravine.growth-rates", "The loss grows with slope 2 across the ravine and 4 along it (log-log).",
       "book/ravine", "test_landscape::test_running_example_growth_rates",
       "test_landscape::test_two_parameter_slopes_and_constants")
_claim("ravine.m1-remainder-t6",
       "For one teacher component the remainder of the quartic expansion is $O(t^6)$, not $O(t^5)$.",
       "book/ravine", "test_landscape::test_unequal_weights_quartic_constant_has_no_t5_term")
_claim("ravine.bends-t2",
       "For $m>1$ the ravine leaves $T$ at second order, with normal offset $t^2c_2$, $c_2=-H_N^{-1}a(v)$.",
       "book/ravine", "test_landscape::test_running_example_bias_coefficient")
_claim("ravine.cubic-m1", "For $m=1$, $d=1$, $n=2$ with unequal weights the ravine's offset is cubic in $t$.",
       "book/ravine", "test_landscape::test_ravine_offset_is_cubic_for_unequal_weights")
_claim("ravine.quartic-on-ravine",
       "Along the ravine $L=t^4Q_M+o(t^4)$ with $Q_M\\le Q$; $Q_M\\to Q$ for well separated teachers.",
       "book/ravine", "test_landscape::test_measured_quartic_constants_match_gmmlit_quartic",
       "test_landscape::test_separation_constants_converge_to_the_separated_limit")

_claim("slowdown.gd-quartic-bounds",
       "Gradient descent on a quartic obeys two-sided $1/t^2$ bounds: it is sublinear.",
       "book/slowdown", "test_figures_slowdown_polyak::test_quartic_gd_obeys_the_bounds_and_is_sublinear")
_claim("slowdown.error-split",
       "Cluster bias plus intra-cluster dispersion is the weighted squared error $\\sum_i\\pi_i|\\mu_i-\\mu^*_i|^2$.",
       "book/slowdown", "test_figures_slowdown_polyak::test_bias_and_dispersion_split_the_weighted_error")
_claim("slowdown.gem-kills-bias",
       "Gradient EM removes the cluster bias fast while the dispersion, most of the loss, barely moves "
       "(Figure 4); Polyak steps cut the dispersion.", "book/slowdown",
       "test_figures_slowdown_polyak::test_figure4_runs_have_what_the_plot_needs_and_the_claims_hold",
       "test_figures_slowdown_polyak::test_gradient_em_slope_matches_the_ravine_quartic")

_claim("polyak.quartic-multiplier",
       "A Polyak step with multiplier $c$ on a homogeneous quartic gives "
       "$|v_+|^2=|v|^2-(8c-c^2)Q^2/|\\nabla Q|^2$; plain steps align with directions where the factor is 3/4, "
       "large multipliers do not.", "book/polyak",
       "test_figures_slowdown_polyak::test_factor_formula_matches_the_step",
       "test_figures_slowdown_polyak::test_plain_steps_align_and_large_multipliers_do_not")
_claim("polyak.fixed-k-breakdown",
       "With a fixed number $K$ of EM short steps the contraction stops at a level that falls like $\\rho^K$.",
       "book/polyak", "test_figures_slowdown_polyak::test_fixed_k_breakdown_falls_like_rho_to_the_k",
       "test_figures_slowdown_polyak::test_em_normal_contraction_matches_the_em_map")
_claim("polyak.figures-1-3",
       "A Polyak step leaves the tube around the ravine and one short step returns (Figure 3); the "
       "alternating method reaches $10^{-12}$ far sooner than EM and gradient EM (Figure 1).",
       "book/polyak", "test_figures_slowdown_polyak::test_figure3_data_and_claims",
       "test_figures_slowdown_polyak::test_figure1_runs_and_claims")
_claim("polyak.floor-estimate",
       "Two points of a ravine of growth degree $p$ determine its floor: "
       "$L^*=(\\rho L_2-L_1)/(\\rho-1)$ with $\\rho=(g_1/g_2)^{p/(p-1)}$; with the estimate as target the "
       "Polyak steps reach a positive floor where the target 0 stalls, and a plateau hands over to L-BFGS.",
       "book/polyak", "test_steps::test_floor_estimate_is_exact_on_a_power_law",
       "test_steps::test_floor_estimate_with_the_wrong_degree_errs_on_the_safe_side",
       "test_methods::test_adaptive_target_reaches_a_positive_floor_where_zero_target_stalls",
       "test_methods::test_plateau_hands_over_to_lbfgs_and_records_both_stages")
_claim("polyak.relaxation",
       "Over-relaxing the short steps by $2/(2-q)$ maps the rates $[0,q]$ of a linear contraction to "
       "$[-q/(2-q),q/(2-q)]$.", "book/polyak",
       "test_methods::test_relaxation_factor_balances_the_slowest_and_fastest_modes",
       "test_methods::test_relaxation_changes_only_later_short_steps")
_claim("polyak.study-factors",
       "On the running example the default ravine method reaches $L\\le10^{-12}$ within 150 evaluations; "
       "gradient EM and EM do not reach $10^{-10}$ within 5,000; plain Polyak factors are near 3/4.",
       "book/polyak", "test_studies::test_default_ravine_reaches_1e12_within_150_evaluations",
       "test_studies::test_classical_methods_do_not_reach_1e10_within_5000_evaluations",
       "test_studies::test_plain_polyak_factor_is_close_to_three_quarters")

_claim("misspecified.floor",
       "With $\\Delta_\\pi>0$ the floor $L^*$ is a strict local minimum just below $\\mathrm{KL}(\\pi^*\\|w)$, "
       "which it approaches with separation; $L^*$ scales like $\\Delta_\\pi^2$.", "book/misspecified",
       "test_figures_misspecified_global::test_floor_is_a_strict_local_minimum_below_the_separated_limit",
       "test_figures_misspecified_global::test_reference_loss_tends_to_the_kl_of_the_weights",
       "test_studies::test_floor_scales_like_delta_squared")
_claim("misspecified.collapsed-clusters",
       "At the floor an under-weighted cluster stays collapsed and over-weighted ones spread, as the "
       "curvature identity for a collapsed cluster predicts.", "book/misspecified",
       "test_figures_misspecified_global::test_collapsed_cluster_curvature_matches_the_hessian",
       "test_figures_misspecified_global::test_under_weighted_cluster_collapses_at_the_floor")
_claim("misspecified.zero-target",
       "Polyak steps with $f^*=0$ never reach the floor (their length grows near it); with $f^*=L^*$ they "
       "reach $L\\le L^*(1+10^{-6})$.", "book/misspecified",
       "test_figures_misspecified_global::test_zero_target_never_reaches_the_floor_but_the_floor_target_does",
       "test_figures_misspecified_global::test_polyak_step_with_zero_target_grows_near_the_floor",
       "test_studies::test_f_star_zero_ravine_stops_above_the_floor")

_claim("global-phase.delta-pi",
       "Gradient EM with weight updates reduces $\\Delta_\\pi$ quickly.", "book/global-phase",
       "test_figures_misspecified_global::test_global_phase_reduces_delta_pi_quickly")
_claim("global-phase.histogram",
       "After the global phase more than $m$ components typically survive, most in low dimensions "
       "(Figure 7); the parallel sweep equals the serial one.", "book/global-phase",
       "test_figures_misspecified_global::test_more_components_survive_in_two_dimensions",
       "test_figures_misspecified_global::test_figure7_is_deterministic_and_parallel_equals_serial")
