"""`poolgate train --mapping`: a book in a lessor's own column names trains the same model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.schema import LEASE_FIELDS
from poolgate.cli import main


def _train(capsys: pytest.CaptureFixture[str], tape: Path, files: dict[str, Path], *extra: str) -> dict:
    rc = main(["train", "--tape", str(tape), "--performance", str(files["performance"]), "--seed", "0",
               "--json", *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out)


def test_train_through_a_mapping_fits_the_model_of_the_canonical_book(
        capsys: pytest.CaptureFixture[str], mlflow_dir: Path, small_book_files: dict[str, Path]) -> None:
    book = pd.read_parquet(small_book_files["contracts"])
    src = book.rename(columns=lambda c: f"LX_{c}")
    src.to_csv(mlflow_dir / "lender_book.csv", index=False)
    mapping = mlflow_dir / "lender.toml"
    mapping.write_text('name = "lender"\n[fields]\n' + "".join(
        f'{f.name} = "LX_{f.name}"\n' for f in LEASE_FIELDS if f.name in book.columns), encoding="utf-8")

    direct = _train(capsys, small_book_files["contracts"], small_book_files)
    mapped = _train(capsys, mlflow_dir / "lender_book.csv", small_book_files, "--mapping", str(mapping))
    assert mapped["model_version"] == "2"
    assert mapped["rows"] == direct["rows"]
    for key in ("auc_oot", "ks_oot", "brier_oot", "n_oot"):
        assert mapped["metrics"][key] == pytest.approx(direct["metrics"][key], abs=1e-12), key
