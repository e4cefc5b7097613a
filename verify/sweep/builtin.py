"""Built-in sweep specs (placeholder; tuned below)."""
BUILTIN: dict[str, str] = {}
