"""Where a run keeps each tree's outcome: four small integers of `run_results.outcome`
(see app/models/runs.py). The snapshot of values is laid out by
app/facts/snapshot_layout.py."""


# A tree's outcome in `run_results.outcome`: four entries per tree position, from 1.
def category_index(position: int) -> int:
    return 4 * position + 1


def previous_index(position: int) -> int:
    return 4 * position + 2


def rule_index(position: int) -> int:
    return 4 * position + 3


def flags_index(position: int) -> int:
    return 4 * position + 4
