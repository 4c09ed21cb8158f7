"""The theory the book checks: the quartic model along the ravine, the landscape of small
examples, and the symbolic (sympy) derivations. Built on the library; the library never
imports it."""
