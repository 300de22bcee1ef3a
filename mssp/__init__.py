"""The operator CLI of mssp-sentinel: `python -m mssp <command>`, one subpackage per command (plan, template, diff, discover, drift, splunk-ping) plus azure/ (the REST client)."""

from pathlib import Path

# The repository root (the Pulumi project): stacks/ and __main__.py are found from here, in every command.
PROJECT_DIR = Path(__file__).resolve().parent.parent
