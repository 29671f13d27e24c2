"""Size limits of rules."""

from __future__ import annotations

from typing import Final

MAX_DEPTH: Final = 32
"""Deepest nesting of conditions; a lone leaf is depth 1."""

MAX_CONDITIONS: Final = 1_000
"""Most leaf conditions in one ruleset (or one standalone condition)."""
