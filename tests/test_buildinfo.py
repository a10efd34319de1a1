import platform

import pytest
import torch

from dlfoundations.buildinfo import library_versions, machine_summary


def test_versions_start_with_python_and_match_installed():
    versions = library_versions()
    assert next(iter(versions)) == "python"
    assert versions["python"] == platform.python_version()
    assert versions["torch"] == torch.__version__


def test_missing_distribution_is_reported_not_raised():
    assert library_versions(("surely-not-an-installed-dist",))["surely-not-an-installed-dist"] == "not installed"


def test_string_instead_of_tuple_is_refused():
    with pytest.raises(TypeError, match="tuple of str"):
        library_versions("torch")


def test_machine_summary_reports_threads():
    assert machine_summary()["torch threads"] == str(torch.get_num_threads())
