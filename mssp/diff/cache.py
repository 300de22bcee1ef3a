"""The plan cache: plan manifests and platform outputs kept by a content hash of what a plan reads.

A plan is a pure function of the program's code (and the pinned requirements), the stack file, for a
customer the platform stack file, and the inventory (docs/operations/review.md "Plan only what a change affects"), so a
plan whose inputs hash the same is the same plan, byte for byte. Entries live outside the repository
in `$MSSP_PLAN_CACHE`, else `$XDG_CACHE_HOME/mssp-sentinel/plans`, else `~/.cache/mssp-sentinel/plans`
(in CI restored and saved by `actions/cache`), one `<sha256>.json` each, written atomically.

Keys come from git blob ids (`git ls-tree`) for refs, and from file contents for a working folder;
both are content hashes, and a key also covers the cache format and the Python version.

A key names what a plan read, not who made the entry. In CI, any job that runs a pull request's code can
write cache entries that later runs of that pull request restore (it can take the job's runtime token from
the runner), and any workflow pushed to any branch can read a repository secret. So trusted entries are
signed asymmetrically (Ed25519): the private key lives only in the `plan-cache` environment's secret
`$MSSP_PLAN_CACHE_SIGNING_KEY`, which GitHub hands only to jobs on the default branch (drift.yml's
plan-cache job, reviewed code), and the public keys that count are committed in mssp/cache/trusted-keys.txt
(read from the checkout that runs the judge: the base branch's, owned by the security team). With
`$MSSP_PLAN_CACHE_TRUST=signed` (the PR workflow's judge) `load` ignores an entry without a valid signature
by a trusted key, and `store` writes nothing unless it can sign: the judge holds no key that makes an
entry trusted, so nothing it runs can forge one. Without that variable (a user's own machine) unsigned
entries are written and read as before.

Keys only ever change, so the folder only grows: mssp.cache.pruning (`python -m mssp cache-prune`) deletes the
entries not read or written for some days, then the oldest ones beyond a size cap. An entry's mtime is
its last use: `store` writes it, `load` touches it on a hit (mtime, not atime: many file systems mount
with noatime or relatime).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mssp.diff import gitsafe
from mssp.diff.affected import StackInfo, classify_path
from mssp.errors import UserError

CACHE_ENV = "MSSP_PLAN_CACHE"
# Base64 of a raw 32-byte Ed25519 private key: entries written are signed (only drift.yml's plan-cache job).
SIGNING_ENV = "MSSP_PLAN_CACHE_SIGNING_KEY"
# Any non-empty value (the PR workflow sets "signed"): only entries signed by a trusted key count.
TRUST_ENV = "MSSP_PLAN_CACHE_TRUST"
# The public keys whose signatures count: this checkout's (in the PR workflow, the base branch's).
TRUSTED_KEYS_FILE = Path(__file__).resolve().parent.parent / "cache" / "trusted-keys.txt"
FORMAT = "mssp-plan-cache/2"  # 2: platform entries keep the registrations too (mssp.plan.command.PlanSession)
# An entry bigger than this is no entry of ours (a 10,000-resource plan is a few MB): not read into memory.
MAX_ENTRY_BYTES = 256 * 1024 * 1024
# Folders never read by a plan (and large): not walked when hashing a working folder.
_SKIP_DIRS = frozenset({".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules", "out"})


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mssp-sentinel" / "plans"


# git's file modes of plain files; 120000 is a symbolic link, 160000 a submodule (gitlink).
REGULAR_MODES = frozenset({"100644", "100755"})


def tree_entries(repo: Path, ref: str) -> dict[str, tuple[str, str]]:
    """{path: (mode, object id)} of every file, symbolic link and submodule of a commit (`git ls-tree -r`)."""
    proc = gitsafe.run(repo, "ls-tree", "-r", "-z", "--full-tree", ref, text=False)
    if proc.returncode != 0:
        raise OSError(f"git ls-tree {ref} failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    out: dict[str, tuple[str, str]] = {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] in ("blob", "commit"):
            out[path] = (parts[0], parts[2])
    return out


def tree_blobs(repo: Path, ref: str, modes: dict[str, str] | None = None) -> dict[str, str]:
    """{path: blob id} of every file of a commit (`git ls-tree -r`): the content hash git already has.

    A symbolic link's id is its target's name, so the mode is part of the value for anything but a plain
    file (a file turned into a link with the same text is a change). `modes`, when given, receives
    {path: mode} of every entry, submodules included."""
    out: dict[str, str] = {}
    for path, (mode, oid) in tree_entries(repo, ref).items():
        if modes is not None:
            modes[path] = mode
        if mode in REGULAR_MODES:
            out[path] = oid
        elif mode == "120000":
            out[path] = f"{oid} {mode}"
    return out


def folder_blobs(root: Path, wanted: Callable[[str], bool] = lambda _: True) -> dict[str, str]:
    """{path: sha256 of the content} of the wanted files of a working folder (symlinks followed)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        # Folders no plan reads (tests/, docs/, scripts/, .github/): not walked at all.
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and classify_path(
            f"{'' if rel_dir == '.' else rel_dir + '/'}{d}/x.py", ()) != "docs")
        for name in filenames:
            # A worktree's `.git` is a file naming its own (temporary) folder: not a plan input.
            if name.endswith((".pyc", ".pyo")) or name == ".git":
                continue
            # Strings, not a Path per file: every plan hashes the project's ~200 files for its cache key.
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not wanted(rel):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                continue
    return out


def plan_key(blobs: Mapping[str, str], stack: StackInfo, stacks: Iterable[StackInfo], extra: str = "") -> str:
    """The content hash of everything the stack's plan reads, from {path: content hash}.

    That is every file that is not documentation, not another stack's file and not an inventory
    (code and unknown files: conservative), plus the stack's own file, its platform's file and its
    inventory.
    """
    infos = list(stacks)
    own = {stack.file}
    if stack.platform:
        own.add(StackInfo(stack.platform, "platform").file)
    if stack.inventory:
        own.add(stack.inventory)
    if stack.import_file:
        own.add(stack.import_file)
    h = hashlib.sha256()
    h.update(f"{FORMAT}\n{sys.version}\n{stack.name}\n{extra}\n".encode())
    for path in sorted(blobs):
        kind = classify_path(path, infos)
        if kind in ("code", "unknown") or path in own:
            h.update(f"{path}\0{blobs[path]}\n".encode("utf-8", "surrogateescape"))
    for path in sorted(own - set(blobs)):
        h.update(f"{path}\0(absent)\n".encode())  # a missing inventory is part of the input too
    return h.hexdigest()


def _payload(key: str, value: Mapping[str, Any]) -> bytes:
    """What a signature covers: the format, the entry's key and its canonical JSON (an entry cannot be moved
    to another key, or edited)."""
    body = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{FORMAT}\0{key}\0{body}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise UserError(f"{what}: not the base64 of {size} bytes (an Ed25519 key as `python -m mssp cache-keygen` "
                        "writes it)")
    return raw


def trusted_keys(path: Path | None = None) -> frozenset[str]:
    """The base64 Ed25519 public keys of mssp/cache/trusted-keys.txt (one a line; `#` starts a comment)."""
    path = path or TRUSTED_KEYS_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return frozenset()
    keys = set()
    for n, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            _unb64(text, 32, f"{path} line {n}")
            keys.add(text)
    return frozenset(keys)


def _signer() -> Any:
    """The Ed25519 private key of $MSSP_PLAN_CACHE_SIGNING_KEY, or None."""
    secret = os.environ.get(SIGNING_ENV, "")
    if not secret:
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(_unb64(secret, 32, f"${SIGNING_ENV}"))


def public_key_of(private: Any) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def verified(key: str, value: Mapping[str, Any], signature: Any, keys: frozenset[str]) -> bool:
    """Whether `signature` ({"ed25519": public key, "sig": signature}, base64) signs the entry with a trusted key."""
    if not isinstance(signature, dict) or signature.get("ed25519") not in keys or not isinstance(signature.get("sig"), str):
        return False
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signature["ed25519"], validate=True))
        public.verify(base64.b64decode(signature["sig"], validate=True), _payload(key, value))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signed_only() -> bool:
    return bool(os.environ.get(TRUST_ENV))


def load(key: str, directory: Path | None = None) -> dict[str, Any] | None:
    """An entry, or None; a hit is touched, so pruning sees when it was last used. With $MSSP_PLAN_CACHE_TRUST
    set, only an entry signed by a key of mssp/cache/trusted-keys.txt is a hit."""
    path = (directory or cache_dir()) / f"{key}.json"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_ENTRY_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_ENTRY_BYTES else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    signature = data.pop("signature", None)
    data.pop("hmac", None)  # entries of the former HMAC scheme: unsigned now
    if signed_only() and not verified(key, data, signature, trusted_keys()):
        return None  # unsigned, forged or signed by an unknown key: a miss, never a plan
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only cache still serves its entries
    return data


def store(key: str, value: Mapping[str, Any], directory: Path | None = None) -> None:
    """Write an entry atomically, signed when $MSSP_PLAN_CACHE_SIGNING_KEY is set; with $MSSP_PLAN_CACHE_TRUST
    set and no signing key, nothing (an unsigned entry would never count). A cache that cannot be written
    is no error (the plan stands)."""
    folder = directory or cache_dir()
    signer = _signer()
    if signer is None and signed_only():
        return
    # Signed as `load` will see it: the JSON round trip (int keys become strings, tuples lists).
    entry = json.loads(json.dumps(value, ensure_ascii=False))
    if signer is not None:
        entry["signature"] = {"ed25519": public_key_of(signer), "sig": _b64(signer.sign(_payload(key, entry)))}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f, ensure_ascii=False)
        os.replace(tmp, folder / f"{key}.json")
    except OSError:
        return


def platform_outputs_key(project_dir: Path, platform: str) -> str:
    """The key of a platform stack's outputs planned from a working folder: its code and its stack file."""
    info = StackInfo(platform, "platform")
    blobs = folder_blobs(project_dir, lambda p: p == info.file or classify_path(p, ()) in ("code", "unknown"))
    return plan_key(blobs, info, (), extra="platform-outputs")
