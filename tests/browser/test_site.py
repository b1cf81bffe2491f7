"""The built course site in headless Chromium: every page loads cleanly, shows its figures and its
equations.

For each page of a notebook the number of figures the page shows is compared with the number
of images among the executed notebook's outputs (build/site-src/, what Sphinx rendered): a
figure lost between the notebook and the page fails the test, as does an image that did not
decode, an equation MathJax did not typeset, a console error, or a request for anything
outside the site (the site must work offline).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browserkit import ROOT, SITE, PageWatch

STAGED = ROOT / "build" / "site-src"
NOTEBOOK_PAGES = sorted(f"{folder}/{p.stem}" for folder in ("notebooks", "exercises", "solutions")
                        for p in (ROOT / folder).glob("*.ipynb"))
OTHER_PAGES = ["index", "docs/results", "docs/teaching", "docs/design", "exercises/index",
               "solutions/index"]
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")

# every image of the page's text: loaded eagerly, decoded, and drawn at a non-zero size
IMAGES_JS = """async () => {
  const imgs = [...document.querySelectorAll('article img')];
  for (const img of imgs) { img.loading = 'eager'; }
  const ok = await Promise.all(imgs.map(img => img.decode().then(() => true, () => false)));
  return imgs.map((img, i) => {
    const box = img.getBoundingClientRect();
    return {src: img.src.slice(0, 120), decoded: ok[i], natural: img.naturalWidth,
            width: box.width, height: box.height,
            output: img.closest('.cell_output') !== null};
  });
}"""

# MathJax done, then: how many math elements, how many typeset, how many errors
MATH_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const maths = [...document.querySelectorAll('.math')];
  return {math: maths.length,
          typeset: maths.filter(m => m.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length,
          mathjax: !!window.MathJax};
}"""


def expected_figures(page: str) -> int:
    nb = json.loads((STAGED / f"{page}.ipynb").read_text(encoding="utf-8"))
    return sum(1 for cell in nb["cells"] if cell["cell_type"] == "code"
               for out in cell.get("outputs", [])
               if any(t in out.get("data", {}) for t in IMAGE_TYPES))


def visit(page, site_url: str, name: str) -> PageWatch:
    watch = PageWatch(page, site_url)
    response = page.goto(f"{site_url}/{name}.html", wait_until="load")
    assert response is not None and response.ok, f"{name}.html: HTTP {response and response.status}"
    return watch


def check_clean(watch: PageWatch, name: str) -> None:
    assert not watch.foreign, f"{name}: asked for resources outside the site: {watch.foreign[:5]}"
    assert not watch.failed, f"{name}: requests failed: {watch.failed[:5]}"
    assert not watch.errors, f"{name}: console errors: {watch.errors[:5]}"


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_notebook_page_shows_every_figure_and_equation(page, site_url, name):
    assert (SITE / f"{name}.html").exists(), f"the site has no page for {name}.ipynb"
    watch = visit(page, site_url, name)
    images = page.evaluate(IMAGES_JS)
    broken = [im for im in images if not (im["decoded"] and im["natural"] > 0
                                          and im["width"] > 0 and im["height"] > 0)]
    assert not broken, f"{name}: images not shown: {broken[:3]}"
    shown, wanted = sum(im["output"] for im in images), expected_figures(name)
    assert shown == wanted, f"{name}: the page shows {shown} figures, the notebook has {wanted}"
    math = page.evaluate(MATH_JS)
    if math["math"]:
        assert math["mathjax"], f"{name}: equations on the page but MathJax did not load"
        assert math["typeset"] == math["math"], f"{name}: {math}"
        assert math["errors"] == 0, f"{name}: MathJax reported {math['errors']} errors"
    # each notebook page says where its notebook is and links to Colab
    links = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    assert any("colab.research.google.com/github/" in h for h in links), f"{name}: no Colab link"
    assert any(h.endswith(".ipynb") for h in links), f"{name}: no link to its notebook"
    check_clean(watch, name)


def test_chapters_have_figures_and_equations(page, site_url):
    """The chapters are lessons with figures and formulas: a page with none lost them."""
    for name in [n for n in NOTEBOOK_PAGES if n.startswith("notebooks/")]:
        assert expected_figures(name) > 0, f"{name}: the executed notebook has no figure"
    visit(page, site_url, "notebooks/02_autoencoders")
    math = page.evaluate(MATH_JS)
    assert math["math"] >= 10 and math["typeset"] == math["math"], math


@pytest.mark.parametrize("name", OTHER_PAGES)
def test_other_pages_load_cleanly(page, site_url, name):
    watch = visit(page, site_url, name)
    images = page.evaluate(IMAGES_JS)
    assert all(im["decoded"] and im["natural"] > 0 for im in images), f"{name}: {images}"
    math = page.evaluate(MATH_JS)
    if math["math"]:  # equations on the page: every one typeset, none in error
        assert math["mathjax"], f"{name}: equations on the page but MathJax did not load"
        assert math["typeset"] == math["math"] and math["errors"] == 0, f"{name}: {math}"
    check_clean(watch, name)


def test_home_page_links_every_chapter_and_the_results(page, site_url):
    visit(page, site_url, "index")
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert any(h and h.endswith(f"notebooks/{nb.stem}.html") for h in hrefs), nb.stem
    assert page.locator("table").count() >= 2  # the chapters and the results tables
    assert Path(SITE / "docs" / "results.html").exists()
