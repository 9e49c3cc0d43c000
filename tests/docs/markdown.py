"""Reading the README and docs/ as a checker needs them: headings and GitHub's anchors, links, the shell
commands in code, and the repository paths named in code spans. Each `problems_*` function returns what
is wrong, as sentences; an empty list means the text is true to the repository.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shlex
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import REPO

_FENCE = re.compile(
    r"^ {0,3}(?P<fence>```+|~~~+)(?P<info>[^\n]*)\n(?P<body>.*?)^ {0,3}(?P=fence)[ \t]*$", re.M | re.S
)
_INLINE_CODE = re.compile(r"(`+)(?P<code>.+?)\1", re.S)
_LINK = re.compile(
    r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+\"[^\"]*\")?\)"
)
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(?P<text>.*?)[ \t]*#*[ \t]*$", re.M)
_SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
# A placeholder the reader fills in: `<region>`, `<PageUrl>`, `<docker bridge address, e.g. 172.17.0.1>`.
_PLACEHOLDER = re.compile(r"<[A-Za-z][^<>\n]*>")
_SEPARATORS = {";", "&", "&&", "|", "||", "(", ")", "$", "$(", ";;"}
_REDIRECTIONS = {">", ">>", "<", "2>", "&>", "2>&1"}
_PREFIX_WORDS = {"do", "then", "else", "exec", "time", "!", "{"}
# Created by scripts/bootstrap, `sam build` or npm, never tracked: named in the docs, checked by the tools.
_MADE_BY_TOOLS = (".venv", ".venv-tools", ".venv-checkov", ".aws-sam", "node_modules", "dist")
# Files the docs name that exist only once generated: the page's config (the publisher writes it) and the
# `sam local` suite's environment file.
_GENERATED_FILES = {"config.json", "vend-env.json"}
_CODE_SUFFIXES = {
    ".py", ".js", ".mjs", ".json", ".yaml", ".yml", ".toml", ".md", ".sh", ".html", ".css", ".txt", ".cfg"
}  # fmt: skip
# An inline span that is a command of ours: `scripts/…`, `python -m …`, `.venv/bin/python -m …`.
_OUR_COMMAND = re.compile(r"(\S+/)?(scripts/|python3? |\.venv/bin/python )")


def doc_files() -> list[Path]:
    """The README and every page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def fences(text: str) -> Iterator[tuple[str, str]]:
    """(info string, body) of every fenced code block."""
    for match in _FENCE.finditer(text):
        yield match["info"].strip(), match["body"]


def prose(text: str) -> str:
    """The text outside fenced code blocks (same line count, so headings keep their places)."""
    return _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def code_spans(text: str) -> list[str]:
    """Every inline code span outside fenced blocks."""
    return [m["code"].strip() for m in _INLINE_CODE.finditer(prose(text))]


# --- headings and GitHub's anchors -------------------------------------------------------------------


def _rendered(heading: str) -> str:
    """The heading as GitHub renders it to text: links to their text, code and emphasis marks dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return text.replace("`", "").replace("*", "")


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading (github-slugger): lower case, letters, digits, `-` and `_` kept, each
    space a hyphen, everything else dropped."""
    kept = []
    for char in _rendered(heading).strip().lower():
        if char == " ":
            kept.append("-")
        elif char in "-_" or unicodedata.category(char)[0] in "LNM":
            kept.append(char)
    return "".join(kept)


def anchors(text: str) -> set[str]:
    """Every anchor GitHub makes for the headings of a Markdown text, repeats numbered as it numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for match in _HEADING.finditer(prose(text)):
        slug = github_slug(match["text"])
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


# --- links ---------------------------------------------------------------------------------------------


def links(text: str) -> list[str]:
    """The target of every inline link outside code."""
    without_code = _INLINE_CODE.sub("", prose(text))
    return [m["target"] for m in _LINK.finditer(without_code)]


def problems_with_links(doc: Path, text: str | None = None) -> list[str]:
    """Relative links must name a file of the repository and an anchor its headings make; https links must
    at least be well formed (nothing is fetched). `text` is the page's, read from `doc` when not given;
    links resolve from `doc`'s folder either way."""
    found = []
    text = doc.read_text() if text is None else text
    for target in links(text):
        where = f"{doc.relative_to(REPO)}: ({target})"
        parts = urlsplit(target)
        if parts.scheme:
            if parts.scheme != "https":
                found.append(f"{where} is not an https link")
            elif not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", parts.netloc) or " " in target:
                found.append(f"{where} is not a well-formed URL")
            continue
        if target.startswith("/"):
            found.append(f"{where} is absolute: GitHub resolves it against the site, not the repository")
            continue
        path_part, _, anchor = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        if not linked.exists() or REPO not in (linked, *linked.parents):
            found.append(f"{where} names no file or folder of the repository")
            continue
        if anchor:
            if linked.suffix != ".md":
                found.append(f"{where} has an anchor, but {linked.name} has no headings")
            elif anchor not in anchors(linked.read_text()):
                found.append(f"{where}: {linked.relative_to(REPO)} has no heading whose anchor is #{anchor}")
    return found


# --- commands ------------------------------------------------------------------------------------------


def shell_lines(text: str) -> list[str]:
    """Every line of shell the docs show: fenced sh/bash blocks (continuation lines joined) and the inline
    spans that start like a command of ours."""
    lines = []
    for info, body in fences(text):
        if info.split(" ")[0] in _SHELL_LANGUAGES:
            lines += body.replace("\\\n", " ").splitlines()
    lines += [span for span in code_spans(text) if _OUR_COMMAND.match(span)]
    return [line for line in lines if line.strip()]


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line, each as its words: separators, redirections (and their
    targets), comments and leading assignments left out. Placeholders become one word."""
    lexer = shlex.shlex(_PLACEHOLDER.sub("PLACEHOLDER", line), posix=True, punctuation_chars=True)
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: read it word by word instead
        tokens = _PLACEHOLDER.sub("PLACEHOLDER", line).split("#")[0].split()
    commands: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in _REDIRECTIONS:
            skip_next = True
        elif token in _SEPARATORS or set(token) <= set(";&|()$"):
            commands.append([])
        elif not commands[-1] and (token in _PREFIX_WORDS or re.fullmatch(r"[A-Za-z_]\w*=.*", token)):
            continue
        else:
            commands[-1].append(token)
    return [words for words in commands if words]


def _our_package(module: str) -> bool:
    return (REPO / module.split(".", maxsplit=1)[0]).is_dir()


@functools.cache
def module_options(module: str) -> frozenset[str]:
    """The long options a module of ours accepts, from its own `--help`."""
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"python -m {module} --help failed:\n{result.stderr[-2000:]}")
    return frozenset(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", result.stdout))


@functools.cache
def script_options(script: str) -> frozenset[str]:
    """The long options a script of ours accepts: its module's `--help` when it execs a module, otherwise
    the options its own source compares its arguments with."""
    source = (REPO / script).read_text()
    module = re.search(r"^\s*exec \S*python3? -m ([\w.]+) \"\$@\"", source, re.M)
    return module_options(module[1]) if module else options_in_source(source)


def options_in_source(source: str) -> frozenset[str]:
    """The long options a shell script handles itself: case arms (`--x)`, `--x|-y)`) and tests
    (`[[ $1 == --x ]]`, `[[ " $* " == *" --x "* ]]`). Comment lines are not code."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    arms = re.findall(r"^[ \t]*([-\w|\t \"']+)\)", code, re.M)
    options = {option for arm in arms for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", arm)}
    options |= set(re.findall(r"!?==?\s*[*\"' ]*(--[a-z][\w-]*)", code))
    return frozenset(options)


def _flags(words: list[str]) -> list[str]:
    flags = []
    for word in words:
        if word == "--":  # what follows belongs to another program (bench.connect passes it to local.stack)
            break
        if word.startswith("--") and len(word) > 2:
            flags.append(word.split("=")[0])
    return flags


def problems_with_command(words: list[str]) -> list[str]:
    """A command of ours must exist and accept every long option it is shown with."""
    program, args = words[0], words[1:]
    if re.fullmatch(r"(\./)?scripts/[\w./-]+", program):
        return _problems_with_script(program.removeprefix("./"), args)
    if re.fullmatch(r"(\S*/)?python3?(\.\d+)?", program) and len(args) >= 2 and args[0] == "-m":
        return _problems_with_module(args[1], args[2:])
    if program == "npm" and "--prefix" in args and "run" in args:
        return _problems_with_npm_script(args)
    return []


def _problems_with_script(script: str, args: list[str]) -> list[str]:
    if not (REPO / script).is_file():
        return [f"there is no {script}"]
    return [f"{script} has no option {flag}" for flag in _flags(args) if flag not in script_options(script)]


def _problems_with_module(module: str, args: list[str]) -> list[str]:
    if not _our_package(module):
        return [] if importlib.util.find_spec(module) else [f"no module {module} is installed"]
    if not _module_file(module):
        return [f"there is no module {module} in the repository"]
    return [
        f"python -m {module} has no option {flag}"
        for flag in _flags(args)
        if flag not in module_options(module)
    ]


def _problems_with_npm_script(args: list[str]) -> list[str]:
    folder = args[args.index("--prefix") + 1]
    name = [word for word in args[args.index("run") + 1 :] if not word.startswith("-")][:1]
    scripts = json.loads((REPO / folder / "package.json").read_text()).get("scripts", {})
    return [f"{folder}/package.json has no script {n}" for n in name if n not in scripts]


def _module_file(module: str) -> Path | None:
    base = REPO.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def problems_with_commands(doc: Path) -> list[str]:
    return [
        f"{doc.relative_to(REPO)}: `{' '.join(words)}`: {problem}"
        for line in shell_lines(doc.read_text())
        for words in simple_commands(line)
        for problem in problems_with_command(words)
    ]


# --- repository paths ----------------------------------------------------------------------------------


def _tracked_names() -> set[str]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return {Path(name).name for name in names.splitlines()} | {p.name for p in (REPO / "docs").glob("*.md")}


def path_claims(text: str) -> list[str]:
    """The code spans (and command words) that name a file or folder of the repository: a path whose first
    folder is one of the repository's top-level entries or that ends in a source file's suffix, or a bare
    file name with such a suffix. Placeholders, absolute paths and URLs are not claims."""
    top = {entry.name for entry in REPO.iterdir()} - set(_MADE_BY_TOOLS)
    words = code_spans(text) + [w for line in shell_lines(text) for c in simple_commands(line) for w in c]
    claims = []
    for word in words:
        if re.search(r"[\s<>*{}$…:@=]", word) or word.startswith(("/", "-", "~")) or word in {".", ".."}:
            continue
        first = word.removeprefix("./").split("/")[0]
        if first in _MADE_BY_TOOLS or first.startswith(".."):
            continue
        named_like_a_file = Path(word).suffix in _CODE_SUFFIXES and re.fullmatch(r"[\w./-]+", word)
        if first in top or named_like_a_file:
            claims.append(word)
    return claims


def problems_with_paths(doc: Path) -> list[str]:
    found = []
    tracked = _tracked_names()
    for claim in path_claims(doc.read_text()):
        if "/" in claim.rstrip("/") or (REPO / claim).exists():
            if not (REPO / claim).exists():
                found.append(f"{doc.relative_to(REPO)}: `{claim}` does not exist")
        elif claim not in tracked and claim not in _GENERATED_FILES:
            found.append(f"{doc.relative_to(REPO)}: no file of the repository is called `{claim}`")
    return found
