"""The bulk job on a local Ray instance started here: `ray.data` reads the manifest, actors embed with the
in-process ONNX engine, and the output (same schema as a local run) matches the service's vectors; a
second run resumes. A task-per-block variant calls the running service instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.api.server_thread import ServerThread
from videoprism_tools.embed.cli import main
from videoprism_tools.embed.output import read_table

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def manifest(video_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ray") / "videos.csv"
    names = ["testsrc.mp4", "smptebars.mp4", "mandelbrot.mp4", "broken.mp4"]
    path.write_text("id,path\n" + "".join(f"{n},{video_folder / n}\n" for n in names))
    return path


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local Ray instance for the module. Starting one costs ~20 s on two cores, against a startup wait
    that Ray hard-codes at 30 s; on a busy machine it can miss that, so a timed-out start is tried once more
    (a second timeout fails the test)."""
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as error:
        if "timed out during startup" not in str(error):
            raise
        ray.shutdown()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _vectors(folder: Path) -> dict[str, np.ndarray]:
    table = read_table(folder)
    return {str(i): np.asarray(v, np.float32) for i, v in zip(table.column("id").to_pylist(),
                                                           table.column("vector").to_pylist(), strict=True)}  # fmt: skip


def test_ray_actors_with_local_engine_then_resume(
    service: ServerThread, api_bundle_dir: Path, manifest: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out, reference = tmp_path / "ray", tmp_path / "reference"
    args = [str(manifest), "-o", str(out), "--ray", "--ray-workers", "1", "--bundle", str(api_bundle_dir),
            "--no-progress"]  # fmt: skip
    assert main(args) == 1
    summary = capsys.readouterr().out
    assert "4 inputs: 3 embedded, 0 already done, 1 failed; 3 rows written" in summary
    assert "  unsupported_media: 1" in summary
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [f["id"] for f in failures] == ["broken.mp4"]

    assert main([str(manifest), "-o", str(reference), "--server", service.http_url, "--no-progress"]) == 1
    ray_vectors, service_vectors = _vectors(out), _vectors(reference)
    assert set(ray_vectors) == set(service_vectors) == {"testsrc.mp4", "smptebars.mp4", "mandelbrot.mp4"}
    for key, vector in ray_vectors.items():
        assert float(np.abs(vector - service_vectors[key]).max()) < 1e-5, key

    capsys.readouterr()
    assert main([*args[:-1], "--server", service.http_url, "--no-progress"]) == 1  # tasks calling the service
    assert "4 inputs: 0 embedded, 3 already done, 1 failed; 0 rows written" in capsys.readouterr().out
