"""Hostile parameter files: each is refused with a message naming the file (``ParamsError``, exit 2
from ``vpclink check``), never a hang, a traceback or a parse that runs for seconds.

``safe_files`` does the reading; the same limits serve peer cards, run records and world files.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from vpclink import params, safe_files
from vpclink.params import ParamsError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "params" / "example.yaml"


def refusal(path: Path | str) -> str:
    """The one ``(file)`` message ``params.load`` gives for ``path``."""
    with pytest.raises(ParamsError) as info:
        params.load(path)
    errors = info.value.errors
    assert [e.field for e in errors] == ["(file)"], params.format_errors(info.value)
    assert str(path) in errors[0].message  # the file is named
    return errors[0].message


def finishes(action: object, deadline: float = 30.0) -> object:
    """Run ``action`` in a thread and return what it raised; fail if it has not finished by the
    deadline (a refusal must never block: a FIFO without a writer blocks an ordinary open)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            action()  # type: ignore[operator]
            outcome.append(None)
        except BaseException as e:  # the refusal, whatever it is, is the result
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline)
    assert not thread.is_alive(), "still blocked: the file was not refused"
    return outcome[0]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "params.yaml"
    os.mkfifo(fifo)
    err = finishes(lambda: params.load(fifo))
    assert isinstance(err, ParamsError)
    assert err.errors[0].field == "(file)" and "named pipe (FIFO)" in err.errors[0].message


def test_dev_zero_is_refused() -> None:
    assert "character device, not a regular file" in refusal("/dev/zero")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    assert "is a directory" in refusal(tmp_path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    message = refusal(tmp_path / "absent.yaml")
    assert "cannot be read" in message and "No such file" in message


def test_a_20_mb_file_is_refused_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.write(EXAMPLE.read_bytes())
        f.write(b"# padding\n" * 2_000_000)
    assert big.stat().st_size > 20_000_000
    message = refusal(big)
    assert "19.1 MB" in message and "at most 1.0 MB" in message


def test_the_size_limit_holds_when_the_size_is_not_announced(tmp_path: Path) -> None:
    """A file whose ``st_size`` says nothing (``/proc``) is read only up to the limit."""
    data = safe_files.read_bytes("/proc/self/status", max_bytes=1 << 20)
    assert data.startswith(b"Name:")
    with pytest.raises(safe_files.UnsafeFile, match="is over 10 bytes"):
        safe_files.read_bytes("/proc/self/status", max_bytes=10)


def test_yaml_nested_500_deep_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("link: " + "[" * 500 + "]" * 500 + "\n")
    assert "nests more than 32 levels deep" in refusal(deep)


def test_yaml_nested_500_deep_in_block_style_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(500)))
    assert "nests more than 32 levels deep" in refusal(deep)


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("link: *a9")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert "expands to more than" in refusal(bomb)


def test_aliases_nesting_deeper_than_the_text_are_refused(tmp_path: Path) -> None:
    """Each line nests 30 deep, but each alias puts the previous line inside: 300 levels."""
    lines = ["a0: &a0 " + "[" * 30 + "x" + "]" * 30]
    lines += [f"a{i}: &a{i} " + "[" * 30 + f"*a{i - 1}" + "]" * 30 for i in range(1, 10)]
    chain = tmp_path / "chain.yaml"
    chain.write_text("\n".join(lines) + "\n")
    assert "levels deep through YAML aliases" in refusal(chain)


def test_a_small_alias_is_still_fine(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("security_groups:\n", "security_groups: &sg\n")
    (tmp_path / "p.yaml").write_text(text + "\n")
    assert params.load(tmp_path / "p.yaml").security_groups.mode == "cidr"


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(EXAMPLE.read_bytes().replace(b"tutorial-qingdao-beijing", "caf\xe9".encode("latin-1")))
    assert "is not UTF-8 text" in refusal(path)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    assert params.load(path).link == "tutorial-qingdao-beijing"


@pytest.mark.parametrize(
    "text, says",
    [
        ("link: 1" + "0" * 5000 + "\n", "a number with thousands of digits"),
        ("link: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
        ("? [a, b]\n: c\n", "found unhashable key"),
        ("link: x\x00\n", "is not valid YAML"),
    ],
    ids=["huge-integer", "python-tag", "unhashable-key", "nul-byte"],
)
def test_values_yaml_cannot_build_are_refused(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    assert says in refusal(path)


def test_many_values_are_refused_before_validation(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("routes: {initiator: [" + ", ".join(["10.0.0.0/24"] * 60_000) + "]}\n")
    assert path.stat().st_size < 1 << 20
    assert "has more than 50000 YAML values" in refusal(path)


def test_check_exits_2_for_each_hostile_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vpclink.cli import main

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.yaml"
    deep.write_text("link: " + "[" * 500 + "]" * 500 + "\n")
    for path in (str(fifo), "/dev/zero", str(tmp_path), str(deep), str(tmp_path / "absent.yaml")):
        assert finishes(lambda p=path: _exits(main, p)) is None, path
        err = capsys.readouterr().err
        assert err.startswith("(file): ") and path in err, err


def _exits(main: object, path: str) -> None:
    assert main(["check", path]) == 2  # type: ignore[operator]


# -- the reader on its own: JSON for peer cards and run records --------------------------------


def test_json_nested_deep_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(safe_files.UnsafeFile, match="nests more than 32 levels"):
        safe_files.read_json(path)


def test_json_repeated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text('{"role": "initiator", "role": "acceptor"}')
    with pytest.raises(safe_files.UnsafeFile, match="repeats the key"):
        safe_files.read_json(path)


def test_json_reads_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text('{"a": [1, {"b": null}]}')
    assert safe_files.read_json(path) == {"a": [1, {"b": None}]}


def test_yaml_errors_never_quote_the_line(tmp_path: Path) -> None:
    secret = "q8Rk2Pw3Nx7YmBv2HdTz9LsQ4fJc6Wp"  # made up; shaped like an AccessKey secret
    with pytest.raises(safe_files.UnsafeFile) as info:
        safe_files.parse_yaml(f"a: [{secret}\nb: {secret}: x\n", "x.yaml")
    assert secret not in str(info.value) and "line" in str(info.value)


def test_repeated_yaml_keys_are_reported_with_their_lines() -> None:
    doc = safe_files.parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert [(d.loc, d.first_line, d.line) for d in doc.duplicates] == [(("b", "c"), 3, 4), (("a",), 1, 5)]
    assert doc.data == {"a": 3, "b": {"c": 2}}
