"""Self-contained HTML reports for auditors: the screening-run report and the model card.

``reports`` sits on top of the stage packages (it reads screening outputs and the model registry);
only the CLI imports it.
"""

from models.population import profile_frame, profile_scores, psi_against_profile
from reports.browser import BrowserError, PageCheck, check_page, find_chromium
from reports.model_card import ModelCardData, load_model_card_data, log_model_card, render_model_card
from reports.run_data import RunData, load_run, run_data_from_frames
from reports.run_report import render_run_report

__all__ = [
    "BrowserError",
    "ModelCardData",
    "PageCheck",
    "RunData",
    "check_page",
    "find_chromium",
    "load_model_card_data",
    "load_run",
    "log_model_card",
    "profile_frame",
    "profile_scores",
    "psi_against_profile",
    "render_model_card",
    "render_run_report",
    "run_data_from_frames",
]
