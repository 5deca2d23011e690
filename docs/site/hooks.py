"""MkDocs hooks of the lessons website (mkdocs.yml `hooks:`). Every problem is logged as a warning, which
`mkdocs build --strict` turns into a failed build.

* on_config: the optional pages (notation, pitfalls) leave the nav when this checkout does not have them.
* on_page_content: links inside a rendered lesson to a page's source (`../docs/conventions.md`,
  `02_functions_on_groups.ipynb#...`) point at that page, as MkDocs does for Markdown pages.
* on_post_build: MathJax (3, SVG output) is copied into the site, then every `href` and `src` of every page is checked:
  a relative one must name a file of the site (and an anchor that the target page has). MkDocs checks the
  links of Markdown pages itself, but not those inside a rendered notebook, nor raw HTML.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger("mkdocs.hooks.gcnn_edu_site")

OPTIONAL_PAGES = {"docs/notation.md", "docs/pitfalls.md"}
LINK_ATTRIBUTES = {"a": "href", "img": "src", "script": "src", "link": "href", "source": "src", "iframe": "src"}


def _prune_nav(items: list, docs_dir: Path) -> list:
    kept = []
    for item in items:
        if isinstance(item, dict):
            (title, value), = item.items()
            if isinstance(value, list):
                kept.append({title: _prune_nav(value, docs_dir)})
            elif value in OPTIONAL_PAGES and not (docs_dir / value).exists():
                log.info("%s is not in this checkout: '%s' left out of the nav", value, title)
            else:
                kept.append(item)
        else:
            kept.append(item)
    return kept


def on_config(config):
    config["nav"] = _prune_nav(config["nav"], Path(config["docs_dir"]))
    return config


class _Headings(HTMLParser):
    """The ids of the headings h1 ... h6 of one HTML fragment, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.ids.append(dict(attrs).get("id", ""))


def _toc_items(items) -> list:
    flat = []
    for item in items:
        flat.append(item)
        flat.extend(_toc_items(item.children))
    return flat


def _fix_notebook_toc(html: str, page) -> None:
    """mkdocs-jupyter slugs a notebook's table of contents from its own Markdown rendering, which drops inline
    code from a heading ("what `conv2d` gets right"), so its links miss the ids nbconvert gave the headings.
    Both list the same headings in the same order: the table of contents takes nbconvert's ids."""
    headings = _Headings()
    headings.feed(html)
    items = _toc_items(page.toc)
    if len(items) != len(headings.ids):
        log.warning("%s: its table of contents has %d entries but the page %d headings",
                    page.file.src_uri, len(items), len(headings.ids))
        return
    for item, heading_id in zip(items, headings.ids, strict=True):
        item.id = heading_id


class _Links(HTMLParser):
    """The link targets (tag, attribute, value) and the element ids of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("id", "name"):
            if attributes.get(name):
                self.ids.add(attributes[name])
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and attributes.get(attribute) is not None:
            self.links.append((tag, attributes[attribute]))


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith("//"))


def on_page_content(html, page, config, files):
    """In a rendered notebook, point links to a page's source file (.md, .ipynb) at the page."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    _fix_notebook_toc(html, page)
    parser = _Links()
    parser.feed(html)
    page_dir = posixpath.dirname(page.file.src_uri)
    for tag, url in set(parser.links):
        if tag != "a" or not _is_local(url):
            continue
        path, _, fragment = url.partition("#")
        if not path.endswith((".md", ".ipynb")):
            continue
        target = files.get_file_from_path(posixpath.normpath(posixpath.join(page_dir, unquote(path))))
        if target is None or not target.is_documentation_page():
            continue  # left as it is: on_post_build reports it if it does not resolve
        new = posixpath.relpath(target.url, posixpath.dirname(page.file.url) or ".")
        new += f"#{fragment}" if fragment else ""
        html = html.replace(f'href="{url}"', f'href="{new}"')
    return html


MATHJAX_BUNDLE = "tex-svg-full.js"  # TeX in, SVG out, every TeX extension inside: no web fonts to fetch


def _copy_mathjax(site_dir: Path) -> None:
    """MathJax 3 from the django-static-mathjax package (the MathJax release, nothing Django-specific in it)."""
    try:
        import mathjax
    except ImportError:
        log.warning("django-static-mathjax is not installed, so the site has no MathJax: pip install -e '.[docs]'")
        return
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"

    def other_bundles(folder, names):
        return [name for name in names if folder == str(source) and name.endswith(".js")
                and name not in {MATHJAX_BUNDLE, "core.js", "loader.js", "startup.js"}]

    shutil.copytree(source, site_dir / "assets" / "mathjax", ignore=other_bundles, dirs_exist_ok=True)


def on_post_build(config):
    site_dir = Path(config["site_dir"])
    _copy_mathjax(site_dir)
    pages = {}
    for html_file in sorted(site_dir.rglob("*.html")):
        parser = _Links()
        parser.feed(html_file.read_text(encoding="utf-8"))
        pages[html_file.relative_to(site_dir).as_posix()] = parser
    problems = 0
    for page, parser in pages.items():
        if page == "404.html":
            continue  # its links are absolute on purpose: it is served at any depth
        for tag, url in parser.links:
            if not _is_local(url) or url.startswith(("data:", "javascript:", "mailto:")):
                continue
            parts = urlsplit(url)
            path = unquote(parts.path)
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), path)) if path else page
            if target.startswith("..") or path.startswith("/"):
                log.warning("%s: <%s> %r leaves the site (use a relative link inside it)", page, tag, url)
                problems += 1
                continue
            if (site_dir / target).is_dir():
                target = posixpath.join(target, "index.html")
            if not (site_dir / target).is_file():
                what = "missing image" if tag == "img" else "broken link"
                log.warning("%s: %s <%s> %r: the site has no %s", page, what, tag, url, target)
                problems += 1
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                log.warning("%s: <%s> %r: %s has no anchor #%s", page, tag, url, target, parts.fragment)
                problems += 1
    log.info("checked the links of %d pages: %d problems", len(pages), problems)
