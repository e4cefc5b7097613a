"""deflation-verify: CLI, invariant checks, high-precision runs and audit reports."""
