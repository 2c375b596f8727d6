#!/bin/sh
# The two quick-start commands. Each sets up its own virtualenv (.venv) first.
#
#   ./dev.sh run [QUERY] [ksql query options]   query the running kernel (/proc/kallsyms...)
#   ./dev.sh test                              lint, type-check and the whole test suite
#                                              (and the VS Code extension, with npm)
set -eu
cd "$(dirname "$0")"
python=${PYTHON:-python3}
venv=${KSQL_VENV:-.venv}

setup() {  # $1: pip extras ("" or "[dev]")
    if [ ! -x "$venv/bin/python" ]; then
        if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            # Debian ships venv separately from python3.
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                apt-get install -y -qq python3-venv >/dev/null
                "$python" -m venv "$venv"
            else
                echo "dev.sh: '$python -m venv' failed; install python3-venv (sudo apt-get install python3-venv)" >&2
                exit 2
            fi
        fi
    fi
    stamp="$venv/.installed$1"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".$1"
        touch "$stamp"
    fi
    # Bytecode for the editable checkout, as pip writes it for a wheel: Python writes it on
    # first import only, and never under PYTHONDONTWRITEBYTECODE=1 (then every run compiles
    # ~50 modules again). Up-to-date files are skipped (~50 ms).
    "$venv/bin/python" -m compileall -q src plugins >/dev/null
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
    setup ""
    "$venv/bin/ksql" sources
    if [ $# -eq 0 ]; then
        set -- 'name=*printk* and type=T' --format table
    fi
    "$venv/bin/ksql" query "$@"
    ;;
test)
    setup "[dev]"
    # Real programs the tests drive: tmux (the REPL in a terminal), binutils' nm (the ELF
    # source is compared with it), Debian's neovim (the editor test), dwarves' pfunct (the BTF
    # source's prototypes are compared with it), binutils-multiarch (other architectures'
    # modules are compared with its nm; the native binutils read them as generic ELF).
    for need in tmux:tmux nm:binutils nvim:neovim pfunct:dwarves \
        binutils-multiarch:binutils-multiarch; do
        tool=${need%%:*}; pkg=${need#*:}
        if [ "$pkg" = binutils-multiarch ]; then  # no command of its own
            dpkg -s "$pkg" >/dev/null 2>&1 && continue
        elif command -v "$tool" >/dev/null; then
            continue
        fi
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
                || { apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null; }
        fi
    done
    if [ -z "${KSQL_CORPUS:-}" ] && [ "${KSQL_FETCH_CORPUS:-1}" != 0 ]; then
        KSQL_CORPUS=$(scripts/fetch-corpus.sh .corpus) || {
            echo "dev.sh: no Debian corpus (apt-get download failed): corpus tests will skip" >&2
            KSQL_CORPUS=
        }
        export KSQL_CORPUS
    fi
    "$venv/bin/ruff" check .
    "$venv/bin/ruff" format --check .
    "$venv/bin/mypy" --strict src  # plugins/ too, through src/ksql/plugins
    "$venv/bin/python" -m pytest "$@"
    # The VS Code extension: npm ci from the lockfile, lint, type-check, bundle, its unit and
    # smoke tests against this ksql, and the .vsix.
    if command -v npm >/dev/null; then
        KSQL_COMMAND="$PWD/$venv/bin/ksql" editors/vscode/ci.sh
    else
        echo "dev.sh: npm not found: the VS Code extension was not built or tested" >&2
    fi
    ;;
*)
    echo "usage: ./dev.sh run [QUERY [ksql query options]] | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
