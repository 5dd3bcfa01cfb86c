"""The course site: pages generated from lessons/ and exercises/ into docs/, for MkDocs and Zensical.

``generate(course, docs_dir, config_file)`` writes them (see :mod:`flowcamp.site.generate`), the menu in
mkdocs.yml included (see :mod:`flowcamp.site.nav`); ``flowcamp site generate|build|serve`` are the
commands (:mod:`flowcamp.site.cli`).
"""

from flowcamp.site.generate import TemplateError, generate, site_files
from flowcamp.site.links import exercise_uri, lesson_uri
from flowcamp.site.nav import NavError, nav_is_current, nav_items, write_nav

__all__ = ["NavError", "TemplateError", "exercise_uri", "generate", "lesson_uri", "nav_is_current", "nav_items",
           "site_files", "write_nav"]
