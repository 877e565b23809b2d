"""A throw-away CA and server certificates made with the openssl CLI, for the HTTPS tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path
    good_cert: Path  # SAN IP:127.0.0.1
    good_key: Path
    wrong_cert: Path  # SAN DNS:wrong.example, served on 127.0.0.1
    wrong_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _leaf(root: Path, name: str, san: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (root / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}")  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(root / "ca.pem"), "-CAkey", str(root / "ca.key"),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return cert, key


def make_pki(root: Path) -> Pki:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(root / "ca.key"), "-out", str(root / "ca.pem"), "-days", "2", "-subj", "/CN=test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    good = _leaf(root, "good", "IP:127.0.0.1")
    wrong = _leaf(root, "wrong", "DNS:wrong.example")
    return Pki(root / "ca.pem", good[0], good[1], wrong[0], wrong[1])
