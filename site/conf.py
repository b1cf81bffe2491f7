"""Sphinx configuration of the course site (built by ``make site``: tools/build_site.py).

Sphinx with myst-nb renders the executed notebooks (nothing is executed here: the notebooks
arrive with their outputs), MyST markdown for the README and docs/, the book theme gives
the course layout and its Colab launch button, and MathJax is served from the site itself
(sphinx-mathjax-offline), so the built site works without a network.
"""

project = "dclearn"
author = "the dclearn authors"
copyright = "2026, the dclearn authors"
html_title = "dclearn: deep clustering, taught in notebooks"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

nb_execution_mode = "off"          # the notebooks come executed (tools/executed.py)
nb_ipywidgets_js = {}              # no widget state is saved: load no widget JavaScript
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["dclearn.css"]
html_theme_options = {
    "repository_url": "https://github.com/dclearn/dclearn",
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # the theme's colour mode when the reader set none
