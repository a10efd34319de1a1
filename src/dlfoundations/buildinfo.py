"""What the book was built with: library versions and the machine, for the build report."""

from __future__ import annotations

import platform
from importlib import metadata

__all__ = ["BOOK_DISTRIBUTIONS", "library_versions", "machine_summary"]

#: The distributions whose versions the build report lists, in this order.
BOOK_DISTRIBUTIONS: tuple[str, ...] = (
    "torch",
    "numpy",
    "matplotlib",
    "scikit-learn",
    "jupyter-book",
    "sphinx",
    "myst-nb",
    "sphinx-book-theme",
    "sphinx-exercise",
    "sphinxcontrib-bibtex",
    "jupyter-cache",
    "dlfoundations",
)


def library_versions(distributions: tuple[str, ...] = BOOK_DISTRIBUTIONS) -> dict[str, str]:
    """Return ``{distribution: version}`` for Python and each installed distribution.

    Args:
        distributions (tuple[str, ...]): distribution names as on PyPI.
            Default: :data:`BOOK_DISTRIBUTIONS`.

    Returns:
        dict[str, str]: ``"python"`` first, then each name in order; a
        distribution that is not installed maps to ``"not installed"``.

    Raises:
        TypeError: if ``distributions`` is a string or holds a non-string.
    """
    if isinstance(distributions, str) or not all(isinstance(d, str) for d in distributions):
        raise TypeError(f"distributions must be a tuple of str, got {distributions!r}")
    versions = {"python": platform.python_version()}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine_summary() -> dict[str, str]:
    """Return the operating system, machine type, CPU count and torch's thread count."""
    import os

    import torch

    return {
        "system": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "logical CPUs": str(os.cpu_count()),
        "torch threads": str(torch.get_num_threads()),
        "CUDA available": str(torch.cuda.is_available()),
    }
