"""Uses against grants: what is used and not granted, what is granted and not used, what cannot be derived.

``python -m iamcheck [ROOT]`` prints the report and exits non-zero unless all three lists are empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iamcheck.grants import Grant, grants
from iamcheck.terraform import Terraform
from iamcheck.uses import STORED_VALUES, Repo, Use, derive


@dataclass
class Report:
    """The comparison; ``ok`` when nothing is missing, unused or underivable."""

    uses: list[Use]
    grants: list[Grant]
    missing: list[Use] = field(default_factory=list)
    unused: list[Grant] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unused or self.problems)

    def text(self) -> str:
        lines = [f"{len(self.uses)} uses, {len(self.grants)} grants"]
        lines += [f"MISSING  {u.describe()}" for u in self.missing]
        lines += [f"UNUSED   {g.describe()}" for g in self.unused]
        lines += [f"PROBLEM  {p}" for p in self.problems]
        return "\n".join(lines)


def compare(uses: list[Use], granted: list[Grant], problems: list[str] | None = None) -> Report:
    """Each use must be allowed by a grant of its principal; each grant must allow some use of its principal."""
    report = Report(sorted(set(uses)), granted, problems=list(problems or []))
    for use in report.uses:
        if not any(g.principal == use.principal and g.allows(use.permission, use.resource) for g in granted):
            report.missing.append(use)
    for grant in granted:
        if not any(u.principal == grant.principal and grant.allows(u.permission, u.resource) for u in report.uses):
            report.unused.append(grant)
    return report


def check(repo: Repo, tf: Terraform | None = None) -> Report:
    """Derive the uses of ``repo``'s code and compare them with its terraform's grants (or ``tf``'s)."""
    tf = tf or repo.terraform()
    derivations = derive(repo, tf)
    uses = [u for d in derivations for u in d.uses]
    problems = [p for d in derivations for p in d.problems]
    used_facts = set().union(*(d.stored_values_used for d in derivations))
    problems += [f"stale STORED_VALUES entry {key}: no such use any more" for key in STORED_VALUES
                 if key not in used_facts]
    return compare(uses, grants(tf), problems)
