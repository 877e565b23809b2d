"""Which package may import which, read off the source (every `import`, including ones inside functions).

`training/` and `service/` meet only in the bundle contract (`videoprism_bundle`): training never imports the
server, the server never imports torch or training, and the contract imports neither half nor torch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in files
        for line, module in _imported_modules(path)
        if any(module == name or module.startswith(f"{name}.") for name in forbidden)
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("training", ("service",)),
        ("service", ("torch", "training")),
        ("videoprism_bundle", ("service", "training", "torch", "fastapi", "grpc")),
        # The SDK and the stubs it shares with the server (tests/clients/test_client_independent.py runs it).
        ("videoprism_client", ("service", "training", "torch", "fastapi", "onnxruntime")),
        ("videoprism_proto", ("service", "training", "videoprism_client")),
    ],
)
def test_package_does_not_import(package: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(package, forbidden) == []


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from service.media import decode_clip_sync\n    import torch.nn\n")
    assert _imported_modules(source) == [(2, "service.media"), (3, "torch.nn")]
