"""The audit (``deflation audit``): run every stage, decide the ledger of SPEC section 3, and write one
self-contained report (``index.html``, ``report.json``, ``report.md``).

- :mod:`.profiles`: the sizes (``quick``, ``full``, ``test``);
- :mod:`.stages`: one adaptation module per stage, each calling its library;
- :mod:`.ledger`: the only place a claim's status is decided (the rules are in its docstring);
- :mod:`.render`: presentation only; :mod:`.mathml`: LaTeX without network or JavaScript.
"""


from solver._lazy import lazy_exports

# Names load on first use: ``deflation audit --help`` reads the profiles without loading the stages (matplotlib,
# torch, sympy).
_WHERE = {"ledger": ("CLAIM_IDS", "decide_ledger"), "profiles": ("PROFILES", "Profile", "get_profile"),
          "runner": ("FORMAT", "SCHEMA_PATH", "run_audit")}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)
