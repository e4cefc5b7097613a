"""The audit (``deflation audit``): run every stage, decide the ledger of SPEC section 3, and write one
self-contained report (``index.html``, ``report.json``, ``report.md``).

- :mod:`.profiles`: the sizes (``quick``, ``full``, ``test``);
- :mod:`.stages`: one adaptation module per stage, each calling its library;
- :mod:`.ledger`: the only place a claim's status is decided (the rules are in its docstring);
- :mod:`.render`: presentation only; :mod:`.mathml`: LaTeX without network or JavaScript.
"""

from .ledger import CLAIM_IDS, decide_ledger
from .profiles import PROFILES, Profile, get_profile
from .runner import FORMAT, SCHEMA_PATH, run_audit

__all__ = ["run_audit", "decide_ledger", "CLAIM_IDS", "PROFILES", "Profile", "get_profile", "FORMAT", "SCHEMA_PATH"]
