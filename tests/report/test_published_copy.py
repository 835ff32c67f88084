"""The package's copy of the published results is the shared spec, byte for byte."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def test_package_copy_equals_shared_spec(shared_dir: Path) -> None:
    spec = shared_dir / "spec" / "published_results.yaml"
    copy = resources.files("saatrial.report").joinpath("published/nct02218437.yaml")
    assert copy.read_bytes() == spec.read_bytes(), (
        "src/saatrial/report/published/nct02218437.yaml differs from "
        "../shared/spec/published_results.yaml: copy the spec over the package file"
    )
