"""Merging records from many machines into one set: pure, records in, records out.

Records of the same column (environment and server) are combined check by check. A check
reported with different outcomes is ``flaky`` (never silently picked); records written by
different harness versions are refused, since their checks may not mean the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from matrix.records import CheckResult, Record


class MergeError(ValueError):
    """The records cannot be merged; one line."""


def merge_records(records: Sequence[Record]) -> list[Record]:
    harnesses = sorted({r.harness for r in records})
    if len(harnesses) > 1:
        raise MergeError(
            f"records come from different harness versions ({', '.join(harnesses)}): rerun them "
            f"with one flask-context-matrix version"
        )
    merged: dict[tuple[str, str], Record] = {}
    results: dict[tuple[str, str], dict[str, list[CheckResult]]] = {}
    for record in records:
        key = (record.environment, record.server)
        first = merged.setdefault(key, replace(record, checks=[]))
        if record.versions != first.versions:
            raise MergeError(
                f"{record.environment}/{record.server} was recorded with different versions on "
                f"different machines; give each its own environment name"
            )
        first.complete = first.complete and record.complete
        for check in record.checks:
            results.setdefault(key, {}).setdefault(check.check, []).append(check)
    for key, record in merged.items():
        for seen in results.get(key, {}).values():
            outcomes = sorted({c.outcome for c in seen})
            if len(outcomes) == 1:
                record.checks.append(seen[0])
            else:
                record.checks.append(
                    replace(
                        seen[0],
                        outcome="flaky",
                        deviation=None,
                        notes=[],
                        detail={
                            "outcomes": outcomes,
                            "message": f"reported {len(seen)} times: {', '.join(outcomes)}",
                        },
                    )
                )
    return list(merged.values())
