"""Claim titles as the report shows them: the ledger's titles (:data:`verify.audit.ledger.CLAIMS`, plain text,
what ``report.json`` and the CLI print) with their formulas written in LaTeX between ``$...$``, rendered
inline as MathML by :func:`verify.audit.render.title_html`. A claim missing here shows the ledger's title."""

from __future__ import annotations

__all__ = ["TITLES"]

TITLES: dict[str, str] = {
    "P1": r"Gradient flow fits larger components first, then smaller (deflation order), for orthogonal $T^*$ "
          r"and $m$ large enough",
    "P2": r"The $1/\|w\|^2$ normalization makes the direction's speed independent of its norm",
    "P4": r"Power method from random starts discovers the largest components (Anandkumar et al. 2014)",
    "P5": r"A discovered component grows quickly in norm and fits its ground truth (coefficient $a_i$, or "
          r"$a_i - \lambda/2$)",
    "P6": r"Flat regions: components small and $T^* - T$ stable; decreasing regions: a component being fitted",
    "P7": r"Theorem 1: the modified flow recovers all components to accuracy $\epsilon$, "
          r"$\epsilon \ge \exp(-o(d/\log d))$",
    "P9": r"Norm/correlation: a component whose norm crosses a threshold is highly correlated with some $u_i$",
    "P10": r"The residual $T^* - T$ stays close to an orthogonal tensor",
    "P11": r"The $\exp(-o(d/\log d))$ restriction is mild: in practice below numerical precision",
    "P12": r"Plain gradient flow fits orthogonal $T^*$ well as long as $m$ is large enough",
    "C1": r"$\langle u^{\otimes l}, v^{\otimes l}\rangle = (u \cdot v)^l$",
    "C2": r"Gradient of $R(w^{\otimes l})/\|w\|^{l-2}$",
    "C3": r"The full $-\nabla L$",
    "C4": r"Radial law: $\frac{d\|w\|}{dt} = 2\|w\|\, R(\bar w^{\otimes l}) - \lambda \|w\|$",
    "C6": r"Small-norm limit: the Riemannian gradient of $T^*(x^{\otimes l})$ on the sphere",
    "C9": r"$\frac{dL}{dt} = -\|\nabla L\|^2$",
    "C10": r"Single fitted component: equilibrium $\|w\|^2 = a - \lambda/2$ and its linearization",
}
