"""The CrossGuard policy pack: builds the PolicyPack from policies/rules.py and nothing else.

Pulumi runs this file with the pack directory as the working directory and first sys.path entry
(pulumi/policy/__main__.py: runpy.run_path). The rules import `components.facts.roles`, so the repository root
goes on sys.path first. Constructing a PolicyPack starts the analyzer server and blocks: tests read this
file or run it with PolicyPack replaced, never import it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policies import rules

PolicyPack(
    name="mssp-sentinel-guardrails",
    description="Guardrails for onboarding customer tenants into the MSSP's Microsoft Sentinel.",
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level; this is only the default
    policies=rules.build_policies(),
)
