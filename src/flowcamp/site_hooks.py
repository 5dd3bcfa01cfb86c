"""MkDocs hooks for the flowcamp course site.

mkdocs.yml loads this file with ``hooks: [src/flowcamp/site_hooks.py]``.
It does four things, all at build time, so that people can add lessons and
exercises without touching mkdocs.yml:

1. ``on_files``: turns every ``exercises/NN-module/NN-topic/exercise.toml``
   (at the repository root, beside mkdocs.yml) into a generated page
   ``exercises/NN-module/NN-topic.md``, plus ``exercises/index.md``, a table of
   every exercise. Folders without an ``exercise.toml`` are skipped.
2. ``on_files`` also expands the nav in mkdocs.yml: an entry ``folder/*``
   becomes that folder's pages (``index.md`` first) followed by one section per
   sub-folder, titled from the folder name (``01-version-control`` becomes
   "Version control"). A plain entry whose page does not exist is dropped, so
   the nav can name pages that other people are still writing.
3. ``on_page_markdown``: a link written ``[text](path.md){ .optional-lesson }``
   stays a link when ``path.md`` exists, and becomes ``text (module coming
   soon)`` when it does not.
4. ``on_page_markdown``: the comment ``<!-- flowcamp:lesson-list -->`` is
   replaced by a list of every module and its lessons.
"""

from __future__ import annotations

import copy
import logging
import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from mkdocs.utils.meta import get_data

log = logging.getLogger("mkdocs.hooks.flowcamp")

NUMBERED = re.compile(r"^(\d+)-(.+)$")
LESSON_LIST_MARKER = "<!-- flowcamp:lesson-list -->"
OPTIONAL_LINK = re.compile(
    r"\[(?P<text>[^\]\n]+)\]\((?P<target>[^)\s]+)\)\{:?\s*\.optional-lesson\s*\}"
)
# Inline links and images: ![alt](target "title") or [text](target)
INLINE_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")

WORDS = {
    "sql": "SQL",
    "duckdb": "DuckDB",
    "prefect": "Prefect",
    "python": "Python",
    "civis": "Civis",
    "api": "API",
    "ci": "CI",
    "git": "git",
    "github": "GitHub",
    "json": "JSON",
    "csv": "CSV",
    "env": "env",
}

KIND_WORDS = {
    "code": "code: you edit Python or SQL files",
    "git": "git: you work in a git repository",
    "notebook": "notebook: you fill in a Jupyter notebook",
    "prefect": "prefect: you write a Prefect flow and run it",
}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def folder_title(name: str) -> str:
    """``01-version-control`` -> ``Version control``; ``03-sql-from-duckdb`` -> ``SQL from DuckDB``."""
    m = NUMBERED.match(name)
    rest = m.group(2) if m else name
    words = [w for w in re.split(r"[-_\s]+", rest) if w]
    if not words:
        return name
    out = [WORDS.get(w.lower(), w) for w in words]
    first = out[0]
    if first == words[0] and first.islower():
        out[0] = first[:1].upper() + first[1:]
    return " ".join(out)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith(("//", "#", "/"))


def split_anchor(target: str) -> tuple[str, str]:
    if "#" in target:
        path, frag = target.split("#", 1)
        return path, "#" + frag
    return target, ""


def relative_link(from_uri: str, to_uri: str) -> str:
    """A relative link from the page at ``from_uri`` to the page at ``to_uri`` (both docs-relative)."""
    return posixpath.relpath(to_uri, posixpath.dirname(from_uri) or ".")


def resolve(from_uri: str, target: str) -> str:
    """The docs-relative path that a relative link on ``from_uri`` points at."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_uri), target))


def page_title(text: str, fallback: str) -> str:
    """The title of a Markdown page: front matter ``title``, else its first ``# `` heading."""
    try:
        body, meta = get_data(text)
    except Exception:  # pragma: no cover - get_data is forgiving already
        body, meta = text, {}
    title = meta.get("title") if isinstance(meta, dict) else None
    if isinstance(title, str) and title.strip():
        return title.strip()
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip().strip("#").strip()
    return fallback


def indent(text: str, spaces: int = 4) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.strip("\n").splitlines())


def md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def outside_code(markdown: str, fn) -> str:
    """Apply ``fn`` to the parts of ``markdown`` that are not inside fenced code blocks."""
    out: list[str] = []
    chunk: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        stripped = line.lstrip()
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if fence is None and m:
            out.append(fn("".join(chunk)))
            chunk = []
            fence = m.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if stripped.startswith(fence) and stripped.strip() == stripped.strip()[0] * len(stripped.strip()):
                fence = None
        else:
            chunk.append(line)
    out.append(fn("".join(chunk)))
    return "".join(out)


# --------------------------------------------------------------------------
# Exercises
# --------------------------------------------------------------------------


@dataclass
class Exercise:
    module: str  # folder name, e.g. "02-python-scripts"
    topic: str  # folder name, e.g. "01-environment-variables"
    folder: Path
    meta: dict[str, Any]
    readme: str = ""
    src_uri: str = ""  # generated page, docs-relative
    hints: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.meta.get("id") or self.topic)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or folder_title(self.topic))

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind") or "code")

    @property
    def points(self) -> Any:
        return self.meta.get("points", "")

    @property
    def rel(self) -> str:
        return f"{self.module}/{self.topic}"


def repo_root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def find_exercises(root: Path) -> list[Exercise]:
    """Every ``exercises/NN-module/NN-topic/exercise.toml`` under ``root``, in course order.

    Folders without ``exercise.toml``, or with one that does not parse yet,
    are skipped: someone may be in the middle of writing them.
    """
    base = root / "exercises"
    found: list[Exercise] = []
    if not base.is_dir():
        return found
    for module in sorted(p for p in base.iterdir() if p.is_dir() and NUMBERED.match(p.name)):
        for topic in sorted(p for p in module.iterdir() if p.is_dir() and NUMBERED.match(p.name)):
            toml_path = topic / "exercise.toml"
            if not toml_path.is_file():
                continue
            try:
                meta = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                log.info("Skipping %s: cannot read it yet (%s)", toml_path, exc)
                continue
            readme_path = topic / "README.md"
            readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
            hints = meta.get("hints") or []
            if not isinstance(hints, list):
                hints = [hints]
            found.append(
                Exercise(
                    module=module.name,
                    topic=topic.name,
                    folder=topic,
                    meta=meta,
                    readme=readme,
                    src_uri=f"exercises/{module.name}/{topic.name}.md",
                    hints=[str(h) for h in hints],
                )
            )
    return found


def drop_first_heading(markdown: str) -> str:
    """Drop the README's first ``# `` heading: the page already has the exercise title."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if line.startswith("# "):
            del lines[i]
        break
    return "\n".join(lines).strip("\n")


def fix_readme_links(markdown: str, ex: Exercise, files: Files, docs_dir: Path) -> str:
    """Make the README's relative links work from the generated page.

    A README is written to be read in the exercise folder, so its links are
    relative to that folder. Links that lead into docs/ are rewritten; links
    to files that are not part of the site (starter files, say) become plain
    text, so that a strict build does not fail on them.
    """

    def fix(m: re.Match) -> str:
        bang, text, target, title = m.group("bang"), m.group("text"), m.group("target"), m.group("title") or ""
        if is_external(target):
            return m.group(0)
        path, anchor = split_anchor(target)
        if not path:
            return m.group(0)
        # 1. Relative to the exercise folder on disk, landing inside docs/.
        on_disk = (ex.folder / path).resolve()
        try:
            docs_rel = on_disk.relative_to(docs_dir.resolve()).as_posix()
        except ValueError:
            docs_rel = None
        candidates = [docs_rel, path[2:] if path.startswith("./") else path, resolve(ex.src_uri, path)]
        for cand in candidates:
            if cand and files.get_file_from_path(cand) is not None:
                return f"{bang}[{text}]({relative_link(ex.src_uri, cand)}{anchor}{title})"
        log.info("Exercise %s: link %r is not a page of the site; shown as text", ex.id, target)
        if bang:
            return f"*{text or path}*"
        return f"{text}" if text else f"`{path}`"

    return outside_code(markdown, lambda chunk: INLINE_LINK.sub(fix, chunk))


def lesson_link(ex: Exercise, files: Files) -> str:
    lesson = str(ex.meta.get("lesson") or "").strip()
    if not lesson:
        return "This exercise has no lesson yet."
    lesson = posixpath.normpath(lesson.lstrip("/"))
    f = files.get_file_from_path(lesson)
    if f is None:
        log.info("Exercise %s: its lesson %s is not written yet", ex.id, lesson)
        return "The lesson for this exercise is coming soon."
    title = page_title(f.content_string, folder_title(Path(lesson).stem))
    return f"Read the lesson first: [{title}]({relative_link(ex.src_uri, lesson)})."


def exercise_page(ex: Exercise, files: Files, docs_dir: Path) -> str:
    files_to_edit = ex.meta.get("files") or []
    if isinstance(files_to_edit, str):
        files_to_edit = [files_to_edit]
    files_md = ", ".join(f"`{f}`" for f in files_to_edit)
    if not files_md:
        files_md = "none: you work with git commands" if ex.kind == "git" else "none"
    time_limit = ex.meta.get("time_limit")
    kind_md = KIND_WORDS.get(ex.kind, ex.kind)
    parts = [
        f"# {ex.title}",
        "",
        '!!! info "About this exercise"',
        "",
        indent(
            "\n".join(
                [
                    f"- **Exercise id:** `{ex.id}`",
                    f"- **Kind:** {kind_md}",
                    f"- **Points:** {ex.points}",
                    f"- **Time limit for the check:** {time_limit} seconds" if time_limit else "- **Time limit for the check:** none",
                    f"- **Files to edit:** {files_md}",
                    f"- **Folder in your workspace:** `{ex.rel}/`",
                    "",
                    "Check your work with:",
                    "",
                    "```bash",
                    f"uv run flowcamp check {ex.id}",
                    "```",
                ]
            )
        ),
        "",
        lesson_link(ex, files),
        "",
    ]
    body = drop_first_heading(ex.readme)
    if body:
        parts += [fix_readme_links(body, ex, files, docs_dir), ""]
    else:
        parts += ["*The instructions for this exercise are being written.*", ""]
    if ex.hints:
        parts += [
            "## Hints",
            "",
            "Try on your own first. Open one hint at a time. "
            f"In the terminal, `uv run flowcamp hint {ex.id}` shows the same hints, one each time.",
            "",
        ]
        for n, hint in enumerate(ex.hints, start=1):
            parts += [f'??? tip "Hint {n}"', "", indent(hint), ""]
    return "\n".join(parts).rstrip() + "\n"


def exercise_index(exercises: list[Exercise]) -> str:
    parts = [
        "# Exercises",
        "",
        "Every exercise in the course, module by module. Each one lives in a folder "
        "of your workspace. Open its page to read the instructions, then check your "
        "work with `uv run flowcamp check ID`.",
        "",
    ]
    if not exercises:
        parts += ["There are no exercises yet. They are being written.", ""]
        return "\n".join(parts)
    total = 0
    for ex in exercises:
        if isinstance(ex.points, int):
            total += ex.points
    parts += [f"There are {len(exercises)} exercises, worth {total} points in all.", ""]
    current = None
    for ex in exercises:
        if ex.module != current:
            current = ex.module
            parts += [
                "",
                f"## {folder_title(ex.module)}",
                "",
                "| Id | Exercise | Kind | Points |",
                "| --- | --- | --- | ---: |",
            ]
        link = relative_link("exercises/index.md", ex.src_uri)
        parts.append(f"| `{md_cell(ex.id)}` | [{md_cell(ex.title)}]({link}) | {md_cell(ex.kind)} | {md_cell(ex.points)} |")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------
# Navigation
# --------------------------------------------------------------------------


def _pages_under(folder: str, uris: list[str]) -> list[str]:
    prefix = folder.rstrip("/") + "/"
    return [u for u in uris if u.startswith(prefix)]


def expand_folder(folder: str, uris: list[str], skip: set[str]) -> list[Any]:
    """Nav items for ``folder``: its index, its pages, then a section per sub-folder."""
    prefix = folder.rstrip("/") + "/" if folder else ""
    here = [u for u in uris if u.startswith(prefix) and "/" not in u[len(prefix):]]
    subdirs = sorted({u[len(prefix):].split("/", 1)[0] for u in uris if u.startswith(prefix) and "/" in u[len(prefix):]})
    items: list[Any] = []
    index = prefix + "index.md"
    if index in here and index not in skip:
        items.append(index)
    items += [u for u in sorted(here) if u != index and u not in skip]
    for sub in subdirs:
        sub_items = expand_folder(prefix + sub, uris, skip)
        if sub_items:
            items.append({folder_title(sub): sub_items})
    return items


def _explicit_paths(nav: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(nav, str):
        if not nav.endswith("/*"):
            out.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            out |= _explicit_paths(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            out |= _explicit_paths(value)
    return out


def expand_nav(nav: Any, uris: list[str], skip: set[str] | None = None) -> Any:
    """Expand ``folder/*`` entries and drop pages that do not exist (yet)."""
    if skip is None:
        skip = _explicit_paths(nav)
    present = set(uris)

    def walk(items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, str):
                out += expand_entry(item)
            elif isinstance(item, dict):
                for title, value in item.items():
                    if isinstance(value, list):
                        children = walk(value)
                        if children:
                            out.append({title: children})
                    elif isinstance(value, str):
                        expanded = expand_entry(value)
                        if len(expanded) == 1 and isinstance(expanded[0], str):
                            out.append({title: expanded[0]})
                        elif expanded:
                            out.append({title: expanded})
        return out

    def expand_entry(entry: str) -> list[Any]:
        if entry.endswith("/*"):
            return expand_folder(entry[:-2], uris, skip)
        if is_external(entry) or not entry.endswith(".md"):
            return [entry]
        if entry in present:
            return [entry]
        log.info("Nav: %s does not exist yet; left out of the menu", entry)
        return []

    if isinstance(nav, list):
        return walk(nav)
    return nav


# --------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------

_state: dict[str, Any] = {"exercises": [], "nav_template": None}


def on_config(config, **kwargs):
    # Keep the nav as written in mkdocs.yml; on_files expands a copy each build.
    _state["nav_template"] = copy.deepcopy(config.nav)
    return config


def on_files(files: Files, config, **kwargs) -> Files:
    root = repo_root(config)
    docs_dir = Path(config.docs_dir)
    exercises = find_exercises(root)
    _state["exercises"] = exercises

    def add(src_uri: str, content: str) -> None:
        existing = files.get_file_from_path(src_uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, src_uri, content=content))

    # Generate the index first, so exercise pages can link to it (and to each other).
    add("exercises/index.md", exercise_index(exercises))
    for ex in exercises:
        add(ex.src_uri, "")  # placeholder so links between exercises resolve
    for ex in exercises:
        add(ex.src_uri, exercise_page(ex, files, docs_dir))

    template = _state.get("nav_template")
    if template is None:
        template = copy.deepcopy(config.nav)
    if template is not None:
        uris = sorted(f.src_uri for f in files.documentation_pages())
        config.nav = expand_nav(copy.deepcopy(template), uris)
    return files


def on_serve(server, config, builder, **kwargs):
    # Rebuild the site under `mkdocs serve` when an exercise changes.
    exercises = repo_root(config) / "exercises"
    if exercises.is_dir():
        server.watch(str(exercises))
    return server


def lesson_list(page_uri: str, files: Files) -> str:
    """Markdown list of every module and its lessons, with links relative to ``page_uri``."""
    lessons = sorted(
        f.src_uri
        for f in files.documentation_pages()
        if re.match(r"^lessons/\d+-[^/]+/\d+-[^/]+\.md$", f.src_uri)
    )
    if not lessons:
        return "*The lessons are being written. They will appear here.*"
    out: list[str] = []
    current = None
    for uri in lessons:
        module = uri.split("/")[1]
        if module != current:
            current = module
            num = NUMBERED.match(module)
            label = f"Module {num.group(1)}: {folder_title(module)}" if num else folder_title(module)
            out += ["", f"**{label}**", ""]
        f = files.get_file_from_path(uri)
        title = page_title(f.content_string, folder_title(Path(uri).stem)) if f else folder_title(Path(uri).stem)
        out.append(f"- [{title}]({relative_link(page_uri, uri)})")
    return "\n".join(out).strip("\n")


def on_page_markdown(markdown: str, page, config, files: Files, **kwargs) -> str:
    uri = page.file.src_uri

    if LESSON_LIST_MARKER in markdown:
        markdown = markdown.replace(LESSON_LIST_MARKER, lesson_list(uri, files))

    def optional(m: re.Match) -> str:
        text, target = m.group("text"), m.group("target")
        path, _anchor = split_anchor(target)
        if is_external(target) or files.get_file_from_path(resolve(uri, path)) is not None:
            return f"[{text}]({target})"
        return f"{text} (module coming soon)"

    if ".optional-lesson" in markdown:
        markdown = outside_code(markdown, lambda chunk: OPTIONAL_LINK.sub(optional, chunk))
    return markdown
