"""The strict YAML reader (components/facts/strict_yaml.py): what PyYAML accepts silently is refused, by line and
key path; what YAML allows on purpose (merge keys, anchors) still works; nothing in it can hang or recurse."""

from __future__ import annotations

import pytest

from components.facts import strict_yaml


@pytest.mark.parametrize(("text", "line", "path", "fragment"), [
    ("a: 1\na: 2\n", 2, "a", "duplicate key 'a' (first at line 1)"),
    ("x:\n  - {k: 1, k: 1}\n", 2, "x[0].k", "duplicate key"),
    ("true: x\n", 1, "true", "as a boolean"),
    ("x:\n  False: y\n", 2, "x.False", "as a boolean"),
    ("x:\n  2024: y\n", 2, "x.2024", "as a number"),
    ("x:\n  ~: y\n", 2, "x.~", "as null"),
    ("x:\n  1.5: y\n", 2, "x.1.5", "as a number"),
    ("x:\n  2024-01-01: y\n", 2, "x.2024-01-01", "as a date"),
    ("? [a, b]\n: 1\n", 1, "<sequence>", "as a list"),
    ("a: &x {k: 1, k: 2}\nb: *x\n", 1, "a.k", "duplicate key"),
])
def test_refused_with_line_and_key_path(text: str, line: int, path: str, fragment: str) -> None:
    with pytest.raises(strict_yaml.YamlKeyError) as exc:
        strict_yaml.loads(text)
    assert (line, path) == exc.value.problems[0][:2]
    assert fragment in exc.value.problems[0][2] and "allowed:" in exc.value.problems[0][2]


def test_every_problem_is_reported_not_only_the_first() -> None:
    with pytest.raises(strict_yaml.YamlKeyError) as exc:
        strict_yaml.loads("a: 1\na: 2\nb:\n  false: 1\n")
    assert [p[1] for p in exc.value.problems] == ["a", "b.false"]


def test_yaml_1_2_scalars_as_the_pulumi_cli_reads_them() -> None:
    # Bug caught: PyYAML's YAML 1.1 resolvers reading `on`/`yes` as booleans and `1:20` as base 60, so the
    # plan would see True where the CLI (yaml.v3) hands the program the text "on".
    doc = strict_yaml.loads("a: on\nb: yes\nc: off\nd: no\ne: 1:20\nf: true\ng: False\nh: 0x1f\ni: 0o17\n"
                            "j: 12\nk: 1.5\non: 1\nyes: 2\n")
    assert doc == {"a": "on", "b": "yes", "c": "off", "d": "no", "e": "1:20", "f": True, "g": False, "h": 31,
                   "i": 15, "j": 12, "k": 1.5, "on": 1, "yes": 2}


def test_the_global_yaml_loaders_are_left_alone() -> None:
    # The YAML 1.2 resolvers belong to this reader's own loader class, not to PyYAML's shared SafeLoader.
    import yaml

    strict_yaml.loads("a: on\n")
    assert yaml.safe_load("a: on\n") == {"a": True}


def test_merge_keys_quoted_keys_and_anchors_still_work() -> None:
    assert strict_yaml.loads("base: &b {k: 1, j: 2}\nx:\n  <<: *b\n  k: 3\n'on': 1\n\"2024\": 2\n") == {
        "base": {"k": 1, "j": 2}, "x": {"k": 3, "j": 2}, "on": 1, "2024": 2}
    assert strict_yaml.loads("") is None


def test_recursive_aliases_and_alias_bombs_are_refused_before_anything_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    # A recursive alias built a self-containing list that every later json.dumps failed on (issue #23).
    with pytest.raises(strict_yaml.DocumentError, match=r"line 1: recursive alias \*x"):
        strict_yaml.loads("a: &x [*x]\n")
    with pytest.raises(strict_yaml.DocumentError, match="recursive alias"):
        strict_yaml.loads("a: &m {b: {c: *m}}\n")
    calls = 0
    check = strict_yaml._check

    def counting(*args: object) -> None:
        nonlocal calls
        calls += 1
        check(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(strict_yaml, "_check", counting)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))
    with pytest.raises(strict_yaml.DocumentError, match="alias bomb"):
        strict_yaml.loads(bomb)  # 9**9 leaves if expanded
    assert calls == 0  # refused from the event stream, before the node graph is checked or constructed
    # Aliases that stay within the limit still read as YAML says.
    assert strict_yaml.loads("a: &x {k: 1}\nb: *x\n") == {"a": {"k": 1}, "b": {"k": 1}}


def test_yaml_errors_name_the_file(tmp_path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("a: [\n")
    with pytest.raises(Exception, match=r"Pulumi\.x\.yaml"):
        strict_yaml.load_file(path)


def test_shown_cuts_and_says_how_long() -> None:
    assert strict_yaml.shown("abc") == "abc"
    assert strict_yaml.shown("x" * 1000) == "x" * 60 + "... (1000 characters)"
