"""Self-contained HTML reports for auditors: the screening-run report and the model card.

``reports`` sits on top of the stage packages (it reads screening outputs and the model registry);
only the CLI imports it.
"""
