"""`python -m mssp cache-keygen --private-key-out FILE`: a key pair that signs the plan cache (mssp.diff.cache).

Writes the Ed25519 private key (base64 of its 32 raw bytes) to FILE, readable only by you, and prints the
public key. The private key goes into the secret `MSSP_PLAN_CACHE_SIGNING_KEY` of the `plan-cache`
environment (deployment branches: the default branch only), then FILE is deleted; the public key is added
to mssp/cache/trusted-keys.txt in a reviewed pull request (docs/security.md "Plan cache"). Nothing else
is read or written.

Exit 0 written; 2 FILE exists or cannot be written.
"""

from __future__ import annotations

import argparse
import base64
import os
from pathlib import Path

from mssp.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cache-keygen",
        help="make the Ed25519 key pair that signs the plan cache",
        description="Write a new Ed25519 private key (base64) to --private-key-out (mode 0600, never over an "
        "existing file) and print its public key: the private key becomes the `plan-cache` environment's secret "
        "MSSP_PLAN_CACHE_SIGNING_KEY, the public key a line of mssp/cache/trusted-keys.txt.",
    )
    p.add_argument("--private-key-out", type=Path, required=True, metavar="FILE",
                   help="where the private key is written (a new file, readable only by you)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from mssp.diff.cache import public_key_of

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    try:
        fd = os.open(args.private_key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise UserError(f"--private-key-out {args.private_key_out}: {exc.strerror}; allowed: a new file "
                        "(an existing one is never overwritten)") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(raw).decode("ascii") + "\n")
    print(f"private key written to {args.private_key_out}: store it as the secret MSSP_PLAN_CACHE_SIGNING_KEY of "
          "the `plan-cache` environment, then delete the file")
    print("public key (add this line to mssp/cache/trusted-keys.txt in a reviewed pull request):")
    print(public_key_of(key))
    return 0
