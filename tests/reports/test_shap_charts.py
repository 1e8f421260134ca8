"""The beeswarms are shap's (``shap.plots.beeswarm``), drawn into our own figures without pyplot state."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from reports import charts
from training.plots import shap_summary_figure


def _pyplot_figures() -> list[int]:
    import matplotlib.pyplot as plt

    return list(plt.get_fignums())


def test_report_beeswarm_is_shaps_and_leaves_no_pyplot_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    import shap

    drawn: list[list[str]] = []
    original = shap.plots.beeswarm

    def spy(explanation: shap.Explanation, **kwargs: object) -> object:
        drawn.append(list(explanation.feature_names))
        return original(explanation, **kwargs)

    monkeypatch.setattr(shap.plots, "beeswarm", spy)
    rng = np.random.default_rng(0)
    c = rng.normal(size=(3000, 3))
    v = rng.normal(size=(3000, 3))
    v[:, 1] = np.nan                     # a categorical input: grey, no colour range
    png = charts.beeswarm(c, v, ["payment to income", "province", "bureau score"], max_points=500)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert drawn == [["payment to income", "province", "bureau score"]]
    assert _pyplot_figures() == []


def test_training_summary_is_shaps_with_the_most_important_inputs_on_top() -> None:
    rng = np.random.default_rng(1)
    c = pd.DataFrame({"small": rng.normal(0, 0.1, 400), "big": rng.normal(0, 2.0, 400), "mid": rng.normal(0, 1, 400)})
    v = pd.DataFrame({"small": rng.random(400), "big": pd.Categorical(rng.choice(["a", "b"], 400)),
                      "mid": rng.random(400) < 0.5})
    fig = shap_summary_figure(c, v, max_features=2)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["mid", "big"]       # shap lists bottom to top: the largest on top
    assert _pyplot_figures() == []


def test_the_summary_plot_repeats_for_a_seed() -> None:
    """shap jitters the dots with NumPy's global generator; the run's plot must not change between two runs."""
    import io

    import numpy as np
    import pandas as pd

    from training.plots import shap_summary_figure

    rng = np.random.default_rng(0)
    contributions = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    values = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    pngs = []
    for _ in range(2):
        buffer = io.BytesIO()
        shap_summary_figure(contributions, values).savefig(buffer, format="png")
        pngs.append(buffer.getvalue())
    assert pngs[0] == pngs[1]
