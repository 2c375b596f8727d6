"""The REPL: commands and errors (Session), key handling through prompt_toolkit's pipe
input, scripted use through a pipe, and a real terminal in tmux."""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from ksql.loading import load_catalog
from ksql.pluginmanager import Plugins
from ksql.repl import MAX_ROWS, Session
from ksql.repl_ui import QueryCompleter, make_prompt
from tests.conftest import DATA

SOURCES = [str(DATA / "System.map-6.1-excerpt"), str(DATA / "Module.symvers-6.1-excerpt")]


@pytest.fixture
def session(plugins: Plugins) -> Session:
    cat = load_catalog(SOURCES, plugins)
    cat.name_order()
    return Session(plugins, SOURCES, cat, interactive=True)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(session: Session, line: str, tty: bool = False) -> tuple[bool, str, str]:
    out, err = Tty() if tty else io.StringIO(), io.StringIO()
    ok = session.execute(line, out, err)
    return ok, out.getvalue(), err.getvalue()


def test_query_prints_a_table_and_a_count(session: Session) -> None:
    ok, out, _ = run(session, "gpl and namespace=DMA_BUF")
    assert ok
    assert out.splitlines()[1].split() == [
        "ffffffff8172ff00", "T", "dma_buf_export", "vmlinux", "EXPORT_SYMBOL_GPL", "DMA_BUF",
        "0xeade228f",
    ]  # fmt: skip
    assert out.endswith("(1 rows)\n")


def test_sources_names_the_kernel(session: Session) -> None:
    ok, out, _ = run(session, ".sources")
    assert ok
    # the release the file name gives; a -k selection or a module's vermagic would say more
    assert out.splitlines()[-1] == "  25 symbols in all, kernel 6.1-excerpt"


def test_syntax_error_shows_the_caret_and_the_repl_stays(session: Session) -> None:
    ok, out, err = run(session, "exported and module=")
    assert (ok, out) == (False, "")
    assert err == (
        "unexpected end of query; expected a word or a quoted string (column 21)\n"
        "  exported and module=\n"
        "                      ^\n"
    )
    assert not session.done and run(session, ".count exported")[1] == "7\n"


def test_meta_commands(session: Session, tmp_path: Path) -> None:
    assert run(session, ".help")[1].startswith("Type a query")
    assert run(session, ".format names") == (True, "", "")
    assert run(session, "name=kern_path")[1] == "kern_path\nkern_path\n(2 rows)\n"
    ok, _, err = run(session, ".format fancy")
    formats = "table, json, ndjson, csv, nm, names, count"
    assert not ok and err == f"error: .format takes one of {formats}\n"
    assert "System.map-6.1-excerpt: 23 rows" in run(session, ".sources")[1]
    assert run(session, ".load " + str(DATA / "m2.ko"))[1] == "  51 symbols\n"
    assert run(session, "rday_3")[1] == "rday_3\n(1 rows)\n"
    ok, _, err = run(session, ".frobnicate")
    assert not ok and "unknown command '.frobnicate'" in err
    run(session, ".quit")
    assert session.done


def test_long_results_are_cut_with_a_count(session: Session) -> None:
    session.format = "names"
    cat = session.catalog
    assert len(cat) < MAX_ROWS  # the excerpt is small: shrink the cut instead
    import ksql.repl as repl

    old, repl.MAX_ROWS = repl.MAX_ROWS, 5
    try:
        out = run(session, "")[1] + run(session, "defined")[1]
        assert out.splitlines()[-1].startswith("... 20 more rows (25 in all)")
        assert len(run(session, "defined limit 7")[1].splitlines()) == 8
    finally:
        repl.MAX_ROWS = old


def test_output_to_a_file_then_back(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ksql.repl as repl

    monkeypatch.setattr(repl, "MAX_ROWS", 5)
    path = tmp_path / "out.txt"
    path.write_text("old\n")  # truncated, as sqlite3's .output does
    assert run(session, ".format names") == (True, "", "")
    assert run(session, f".output {path}") == (True, "", "")
    # the file gets the whole result, without the terminal's cut and row count
    assert run(session, "defined") == (True, "", "")
    assert run(session, ".count exported") == (True, "", "")
    assert run(session, ".help")[1].startswith("Type a query")  # not a result: the terminal
    assert run(session, ".output stdout") == (True, "", "")
    assert session.output is None
    *names, count = run(session, "defined limit 100")[1].splitlines()
    assert (len(names), count) == (25, "(25 rows)")
    assert path.read_text() == "".join(f"{n}\n" for n in names) + "7\n"
    assert run(session, "name=kern_path")[1] == "kern_path\nkern_path\n(2 rows)\n"
    assert run(session, f".output '{path}'") == (True, "", "")
    assert run(session, "name=dma_buf_export") == (True, "", "")
    assert run(session, ".output") == (True, "", "")  # alone: back to the terminal too
    assert path.read_text() == "dma_buf_export\n"
    assert run(session, "name=dma_buf_export")[1] == "dma_buf_export\n(1 rows)\n"


def test_output_to_a_path_that_cannot_be_opened(session: Session, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    assert run(session, f".output {good}") == (True, "", "")
    missing = tmp_path / "no" / "out.txt"
    assert run(session, f".output {missing}") == (
        False, "", f"error: cannot write {missing}: No such file or directory\n",
    )  # fmt: skip
    assert run(session, f".output {tmp_path}") == (
        False, "", f"error: cannot write {tmp_path}: Is a directory\n",
    )  # fmt: skip
    ok, _, err = run(session, ".output a b")
    assert not ok and err == "error: .output takes one file (quote a name with spaces)\n"
    assert run(session, ".output 'unclosed") == (
        False, "", "error: No closing quotation: 'unclosed\n",
    )  # fmt: skip
    # the session goes on, and results still go where they went
    assert run(session, ".count gpl") == (True, "", "")
    assert run(session, ".output") == (True, "", "")
    assert good.read_text() == "4\n"


@pytest.fixture
def pager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake pager in KSQL_PAGER; it records what it was given in the returned file."""
    got = tmp_path / "paged"
    script = tmp_path / "pager"
    script.write_text(f"#!/bin/sh\ncat > {shlex.quote(str(got))}\n")
    script.chmod(0o755)
    monkeypatch.setenv("KSQL_PAGER", str(script))
    monkeypatch.setenv("LINES", "6")  # the result gets 4: the prompt and toolbar take 2
    return got


def test_results_taller_than_the_terminal_are_paged(session: Session, pager: Path) -> None:
    assert run(session, ".pager") == (True, "pager off\n", "")
    assert run(session, ".pager on") == (True, "", "")
    assert run(session, ".pager") == (True, f"pager {pager.parent / 'pager'}\n", "")
    run(session, ".format names")
    four = run(session, "defined limit 3")[1]  # not a terminal: never paged
    assert four.endswith("(3 rows)\n") and four.count("\n") == 4 and not pager.exists()
    assert run(session, "defined limit 3", tty=True) == (True, four, "")  # it fits
    assert not pager.exists()
    five = run(session, "defined limit 4")[1]
    assert run(session, "defined limit 4", tty=True) == (True, "", "")
    assert pager.read_text() == five  # all of it, through the pager
    pager.unlink()
    assert run(session, ".pager off") == (True, "", "")
    assert run(session, "defined limit 4", tty=True) == (True, five, "")
    assert not pager.exists()


def test_no_pager_to_turn_on(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSQL_PAGER", "")  # empty: no pager, as git takes it
    assert run(session, ".pager on") == (
        False,
        "",
        "error: no pager to turn on: $KSQL_PAGER, the pager setting or $PAGER is empty or "
        "cat, or names a program that is not installed\n",
    )
    assert not session.paging
    assert run(session, ".pager maybe")[2] == "error: .pager takes on or off\n"


def test_output_to_a_file_is_not_paged(session: Session, pager: Path, tmp_path: Path) -> None:
    session.paging = True
    path = tmp_path / "out.txt"
    run(session, f".output {path}")
    assert run(session, "defined", tty=True) == (True, "", "")
    run(session, ".output")
    assert len(path.read_text().splitlines()) == 26 and not pager.exists()  # heading, rows


@pytest.mark.parametrize(("argv", "paging"), [(["repl"], True), (["repl", "--no-pager"], False)])
def test_the_command_line_sets_paging(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, argv: list[str], paging: bool
) -> None:
    import ksql.repl_ui
    from ksql.cli import main

    (tmp_path / ".ksql.toml").write_text('pager = "more"\n')
    monkeypatch.chdir(tmp_path)
    seen: list[tuple[bool, str | None]] = []
    monkeypatch.setattr(ksql.repl_ui, "prompt_loop",
                        lambda s, out, err: seen.append((s.paging, s.pager)))  # fmt: skip
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.setattr(sys, "stderr", Tty())
    assert main([*argv, *(f"-s{s}" for s in SOURCES)]) == 0
    assert seen == [(paging, "more")]


def test_meta_command_completion(session: Session, tmp_path: Path) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    def words(text: str) -> list[str]:
        found = QueryCompleter(session).get_completions(Document(text), CompleteEvent())
        return [c.text for c in found]

    assert words(".p") == [".pager"]
    assert words(".o") == [".output"]
    assert words(".pager o") == ["on", "off"]
    (tmp_path / "results.txt").touch()
    assert words(f".output {tmp_path}/res") == ["ults.txt"]


async def test_tab_completion_through_the_prompt(session: Session) -> None:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        prompt = make_prompt(session, InMemoryHistory())
        answer = asyncio.ensure_future(prompt.prompt_async())
        for keys in ("names\t", "=DMA\t", "\r"):  # completion runs between key batches
            pipe.send_text(keys)
            await asyncio.sleep(0.2)
        assert await answer == "namespace=DMA_BUF"


def test_history_search_with_ctrl_r(session: Session) -> None:
    history = InMemoryHistory()
    history.append_string("gpl and namespace=DMA_BUF")
    history.append_string("exported")
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        prompt = make_prompt(session, history)
        pipe.send_text("\x12DMA\r\r")  # Ctrl-R, type, accept the match, accept the line
        assert prompt.prompt() == "gpl and namespace=DMA_BUF"


def test_scripted_through_a_pipe() -> None:
    argv = [sys.executable, "-m", "ksql", "repl", *(f"-s{s}" for s in SOURCES)]
    ok = subprocess.run(argv, input="gpl and namespace=DMA_BUF\n.count exported\n",
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout == "ffffffff8172ff00 T dma_buf_export\n7\n"
    bad = subprocess.run(argv, input="exported\nnot (\n.count gpl\n", capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert bad.returncode == 2 and bad.stdout.endswith("\n4\n")
    assert "unexpected end of query" in bad.stderr


class Tmux:
    """The REPL in a real terminal: a private tmux server (-L) with no config (-f), so other
    tmux servers, sessions and the user's settings cannot get in the way, and killing the
    server at the end leaves nothing."""

    def __init__(self, tmp_path: Path, lines: int, env: dict[str, str]) -> None:
        self.socket = f"ksql-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        mine = ("TMUX", "KSQL_PAGER", "PAGER", "LESS")  # the pager is ksql's default
        self.env = {k: v for k, v in os.environ.items() if k not in mine}
        self.env |= {"XDG_STATE_HOME": str(tmp_path), "TERM": "xterm-256color", **env}
        self.lines = lines
        self.socket_path: Path | None = None

    def __enter__(self) -> Tmux:
        command = shlex.join([sys.executable, "-m", "ksql", "repl",
                              *(f"-s{s}" for s in SOURCES)])  # fmt: skip
        # The server starts here, with this environment (a running server would give the
        # REPL its own: another history file, another TERM).
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d",
                        "-s", "repl", "-x", "120", "-y", str(self.lines), command],
                       env=self.env, check=True)  # fmt: skip
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").stdout.strip())
        return self

    def __exit__(self, *exc: object) -> None:
        self.tmux("kill-server", check=False)
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)  # tmux leaves the socket file behind

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=check)  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "repl").stdout

    def keys(self, *k: str) -> None:
        self.tmux("send-keys", "-t", "repl", *k)

    def wait_for(self, text: str) -> str:
        for _ in range(100):
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def exited(self) -> bool:
        for _ in range(50):
            if self.tmux("has-session", "-t", "repl", check=False).returncode:
                return True
            time.sleep(0.1)
        return False


@pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")
def test_real_terminal_in_tmux(tmp_path: Path) -> None:
    big = tmp_path / "big.kallsyms"  # about 5 s to load: a .load long enough to cancel
    with big.open("w") as f:
        f.writelines(f"ffffffff{i:08x} T sym_{i}\n" for i in range(3_000_000))
    with Tmux(tmp_path, 30, {}) as term:
        keys, wait_for, screen = term.keys, term.wait_for, term.screen
        wait_for("ksql>")
        wait_for("6.1-excerpt · 25 symbols · format table")  # the toolbar names the kernel
        keys("names", "Tab")
        wait_for("ksql> namespace")
        keys("=DMA_BUF", "Enter")
        wait_for("dma_buf_export")
        keys("exported and module=", "Enter")
        shown = wait_for("expected a word or a quoted string")
        assert "                      ^" in shown
        # Ctrl-C cancels a long .load and keeps the session and the catalog it had
        keys(f".load {big}", "Enter")
        time.sleep(0.3)
        keys("C-c")
        wait_for("cancelled; still 25 symbols loaded")
        keys(".count dma_buf_export", "Enter")
        assert wait_for("ksql> .count dma_buf_export\n1\n") and "25 symbols" in screen()
        keys("C-c")  # on an empty line: nothing to cancel, the REPL stays
        keys(".count gpl", "Enter")
        wait_for("ksql> .count gpl\n")
        keys("C-d")
        assert term.exited(), "the REPL did not exit on Ctrl-D"
    history = (tmp_path / "ksql" / "history").read_text()
    assert "namespace=DMA_BUF" in history


@pytest.mark.skipif(not shutil.which("tmux") or not shutil.which("less"), reason="needs tmux, less")
def test_a_tall_result_pages_through_less_in_tmux(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with Tmux(tmp_path, 12, {}) as term:  # less -FRSX
        term.wait_for("ksql>")
        term.keys(".format names", "Enter", "name=kern_path", "Enter")
        term.wait_for("kern_path\nkern_path\n(2 rows)\nksql>")  # it fits: no pager
        term.keys("defined limit 20", "Enter")
        shown = term.wait_for("\n:")  # less's prompt on the last line
        assert "(20 rows)" not in shown and "ksql>\n" not in shown
        term.keys("G")  # less's end of input
        term.wait_for("(20 rows)\n")
        term.keys("q")
        term.wait_for("(20 rows)\nksql>")  # less -X leaves the screen: the prompt below it
        term.keys(f".output {out}", "Enter", "defined limit 20", "Enter", ".output", "Enter")
        term.wait_for("ksql> .output\nksql>")  # a file is never paged
        term.keys("C-d")
        assert term.exited()
    assert len(out.read_text().splitlines()) == 20


def test_the_repl_keeps_its_catalog_copied_out_of_the_cache(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session lives long: its catalog must not stay mapped to a cache entry's file."""
    import ksql.loading

    seen: list[dict[str, object]] = []

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(kwargs)
        return load_catalog(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ksql.loading, "load_catalog", recording)
    assert run(session, ".load " + SOURCES[0])[0]
    assert seen and seen[0].get("long_lived") is True
