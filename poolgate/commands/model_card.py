"""``poolgate model-card``: the model card of a registered version, one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from features.io import atomic_write
from poolgate._console import name_text, print_json

NAME = "model-card"
HELP = "write the model card (self-contained HTML) of a registered model version"
DESCRIPTION = ("Write one HTML file describing a registered model version: purpose, training data, features and "
               "risk directions, out-of-time metrics with plots beside the challenger scorecard, monotonicity "
               "check, known limitations and registry history. The file is also logged as an MLflow artifact "
               "of the version's training run (model_card/).")
ORDER = 72


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", required=True, help="registered version number, or an alias such as champion")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--model-name", type=name_text, default="poolgate-pd", help="registered model name (default poolgate-pd)")
    p.add_argument("--no-log", action="store_true", help="do not log the card as an MLflow artifact")
    p.add_argument("--check", action="store_true", help="open the file in headless Chromium and check it")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")


def run(args: argparse.Namespace) -> int:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from reports.model_card import load_model_card_data, log_model_card, render_model_card
    from training.errors import RegistryError

    client = MlflowClient()
    version = str(args.version)
    if not version.isdigit():
        try:
            version = str(client.get_model_version_by_alias(args.model_name, version).version)
        except MlflowException:
            raise RegistryError(f"--version {args.version}: no such alias of {args.model_name}; "
                                "give a version number or an existing alias (see poolgate models)") from None
    data = load_model_card_data(args.model_name, version, client=client)
    html = render_model_card(data)
    out = atomic_write(args.out, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    if not args.no_log:
        log_model_card(out, data.run_id, client=client)
    result: dict[str, object] = {"model_name": args.model_name, "version": version, "run_id": data.run_id,
                                 "out": str(out), "logged": not args.no_log}
    status = 0
    if args.check:
        from reports.browser import check_page

        page = check_page(out, screenshot=Path(out).with_suffix(".png"))
        result.update({"check_ok": page.ok, "problems": page.problems(), "screenshot": str(page.screenshot)})
        status = 0 if page.ok else 1
    if args.json:
        print_json(result)
        return status
    print(f"{out}: model card of {args.model_name} version {version}"
          + (f", logged to run {data.run_id} under model_card/" if not args.no_log else ""))
    if args.check:
        print("browser check: " + ("OK" if result["check_ok"] else "FAILED: " + "; ".join(result["problems"])))  # type: ignore[arg-type]
    return status
