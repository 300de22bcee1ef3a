"""Who the project's Entra applications trust: the workload identity federation anchors, as reviewed data.

Why here and not in a stack file: these values decide which CI jobs can sign in as the deploy identity
(which writes in every customer) and as the read-only identity (which reads every customer). They are a
property of this repository, not of one stack, and they must be judged by the *base* branch: the PR
judge (`mssp diff --rules <base checkout>`) evaluates `policies/rules.py`, which imports this module
from the base checkout, so a pull request that edits this file, the config code, or the stack file
cannot move the trust it is judged against. `.github/CODEOWNERS` gives `/components/facts/` to the
platform security owners and `mssp diff` shows a change to this file in its guardrail section
(GUARDRAIL_PATHS). An MSSP that forks the project sets REPOSITORY to its own `owner/name` here.

Facts and sources:
- GitHub Actions OIDC: issuer `https://token.actions.githubusercontent.com`; subjects
  `repo:<owner>/<repo>:environment:<name>`, `repo:<owner>/<repo>:pull_request`,
  `repo:<owner>/<repo>:ref:refs/heads/<branch>` (docs.github.com "About security hardening with OpenID
  Connect", "Example subject claims"). GitHub creates an environment that a workflow names the first
  time a job uses it, without protection rules (docs.github.com "Managing environments for deployment":
  "Referencing an environment that does not exist will create an environment with the referenced name"),
  so only environments whose protection this project documents are trusted.
- Entra compares a federated credential's issuer, subject and audience with the token's by exact match;
  wildcard matching exists only as the separate `claimsMatchingExpression` of a "flexible" federated
  identity credential (https://learn.microsoft.com/en-us/entra/workload-id/workload-identities-flexible-federated-identity-credentials:
  "the current behavior of federated identity credentials ... requires explicit matching").
  A `*` in `subject` therefore matches nothing but a literal `*`; it is refused as a mistake that
  suggests the author expected a pattern.
- Audience `api://AzureADTokenExchange`: the value Microsoft recommends for Entra workload identity
  federation (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust,
  "audiences ... api://AzureADTokenExchange").
"""

from __future__ import annotations

import re

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

# The repository whose workflows may sign in (owner/name, as GitHub writes it in the `sub` claim).
REPOSITORY = "acme-mssp/mssp-sentinel"
# The one environment the deploy identity trusts: required reviewers, deployment branches limited to main
# (docs/security.md "Who the identities trust").
PRODUCTION_ENVIRONMENT = "production"
# The environments the read-only identity trusts: the PR preview (a required reviewer) and the drift schedule.
READ_ONLY_ENVIRONMENTS: tuple[str, ...] = ("preview", "drift")

# Component names of the two identities (components/stacks.py builds them under these names). The guardrail
# tells a credential of the read-only identity from one of the deploy identity by its parent component;
# anything not provably read-only is judged as the deploy identity.
DEPLOY_IDENTITY_COMPONENT = "mssp-identity"
READ_ONLY_IDENTITY_COMPONENT = "mssp-readonly-identity"

# Characters that would be pattern syntax somewhere else; in an Entra subject they are literals.
WILDCARD = re.compile(r"[*?\[\]{}]")
# GitHub's subject grammar for the forms this project uses.
_GITHUB_SUBJECT = re.compile(r"^repo:(?P<repo>[^:/\s]+/[^:/\s]+):(?P<rest>.+)$")
_ENVIRONMENT = re.compile(r"^environment:(?P<env>[A-Za-z0-9_.-]+)$")


def deploy_subject() -> str:
    """The only subject the deploy identity may trust."""
    return f"repo:{REPOSITORY}:environment:{PRODUCTION_ENVIRONMENT}"


def read_only_subjects() -> tuple[str, ...]:
    """Subjects the read-only identity may trust: its environments, and pull requests of the repository."""
    return (*(f"repo:{REPOSITORY}:environment:{e}" for e in READ_ONLY_ENVIRONMENTS), f"repo:{REPOSITORY}:pull_request")


def subject_problem(subject: str, *, deploy: bool) -> str | None:
    """Why a GitHub OIDC subject is not one the identity may trust (None when it is).

    Exact comparison, as Entra compares: the repository part as GitHub writes it (GitHub treats owner and
    name case-insensitively, but the claim carries one spelling and Entra compares it exactly, so a
    differently cased pin would simply never match; it is refused so that what is reviewed is what works).
    """
    if WILDCARD.search(subject):
        return ("no wildcards: it contains a wildcard character, and Entra matches subjects exactly (flexible matching is the separate "
                "claimsMatchingExpression, which this project does not use), so name one subject")
    m = _GITHUB_SUBJECT.match(subject)
    if m is None:
        return "is not a GitHub Actions subject repo:<owner>/<repo>:<context>"
    if m["repo"] != REPOSITORY:
        return (f"names repository {m['repo']}; the identities trust only {REPOSITORY} "
                "(components/facts/trust.py REPOSITORY)")
    allowed = (deploy_subject(),) if deploy else read_only_subjects()
    if subject in allowed:
        return None
    env = _ENVIRONMENT.match(m["rest"])
    if deploy:
        if env is not None:
            return (f"names environment {env['env']!r}; the deploy identity trusts only the protected environment "
                    f"{PRODUCTION_ENVIRONMENT!r} (components/facts/trust.py PRODUCTION_ENVIRONMENT): GitHub creates "
                    "any other environment unprotected the first time a branch's workflow names it")
        if m["rest"] == "pull_request":
            return "pull requests can obtain it (code nobody reviewed)"
        if m["rest"].startswith("ref:"):
            return "anyone who can push a branch or tag can obtain it"
        return "it is not a deployment-environment subject"
    if env is not None:
        return (f"names environment {env['env']!r}; the read-only identity trusts only "
                f"{', '.join(READ_ONLY_ENVIRONMENTS)} (components/facts/trust.py READ_ONLY_ENVIRONMENTS): GitHub "
                "creates any other environment unprotected the first time a branch's workflow names it")
    return "is not one of its subjects: " + ", ".join(read_only_subjects())
