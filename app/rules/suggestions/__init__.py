"""Threshold suggestions: a ruleset version's numeric thresholds searched against
labelled samples, its structure kept (issue 16, item 1)."""
