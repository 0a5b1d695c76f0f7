"""Sphinx configuration of the dualtape documentation (``make docs``).

The build needs no network: nothing is fetched (no intersphinx inventories), the
theme and the extensions come from the ``docs`` extra, and the package is imported
from ``src/``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import dualtape  # noqa: E402

project = "dualtape"
author = "dualtape developers"
copyright = "dualtape developers"
release = version = dualtape.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "dnp_table",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# numpydoc-style sections (Parameters, Returns, Raises, Examples) read by napoleon.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = True
napoleon_use_ivar = True          # attributes as one compact field list

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": False}
# Signatures as written in the source (the types are written with future annotations).
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"dualtape {release}"
html_static_path = ["_static"]
html_css_files = ["extra.css"]
html_show_sourcelink = False

nitpicky = False
