"""mssp-sentinel: one Pulumi program, two kinds of stack (the MSSP platform, or one customer tenant).

Reads and validates the stack's config (components.config), builds the stack's components
(components.stacks), exports its outputs. Nothing else happens here.
"""

from pathlib import Path

import pulumi

from components.config import ConfigError, load_from_pulumi
from components.stacks import build

try:
    loaded = load_from_pulumi(Path(__file__).parent)
except ConfigError as exc:
    # A user mistake: name each bad key, no traceback, nothing created.
    raise pulumi.RunError(f"invalid configuration:\n{exc}") from None

for key, value in build(loaded).items():
    pulumi.export(key, value)
