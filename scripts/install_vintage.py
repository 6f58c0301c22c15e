"""Install a calibration's outputs as a built-in forecast vintage (scripts/calibrate-builtin).

    install_vintage.py OUT_DIR NAME DISCREPANCY_YAML   a calibration or assimilation
    install_vintage.py --plan DISCREPANCY_YAML         the plan beijing-etown-2023

Each vintage's text gets the backtest's structural error (``calibration.discrepancy``)
and the list of the other vintages' forecasts (``calibration.vintages``); a calibrated
one gets its posterior under its own name, and its fit and diagnostics in calibration/.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import yaml

DEST = Path(__file__).resolve().parent.parent / "src" / "evplant" / "scenario" / "builtin"
VINTAGES = {
    "beijing-etown-2023": "the plan before production",
    "beijing-etown-2024": "after the 2024 record",
    "beijing-etown": "after the record to September 2025",
}
HEADERS = {
    "beijing-etown-2024": (
        "# Xiaomi's EV plant in Beijing E-Town, the 2024 forecast vintage: the plan\n"
        "# `beijing-etown-2023` calibrated on the 2024 record (scripts/calibrate-builtin\n"
        "# rebuilds it; calibration/ holds its fit and diagnostics).\n"),
    "beijing-etown": (
        "# Xiaomi's EV plant in Beijing E-Town (the built-in default): `beijing-etown-2024`\n"
        "# with the record to September 2025 assimilated (scripts/calibrate-builtin rebuilds\n"
        "# it; calibration/ holds its fit, diagnostics, backtest and forecasts).\n"),
}


def sections(name: str, disc: dict[str, object]) -> str:
    """The lines inserted under ``calibration:``."""
    terms = disc["discrepancy"]["metrics"]  # type: ignore[index]
    lines = ["  # the model's own error, growing with the months ahead: fitted by `evplant",
             "  # backtest` on the rolling-origin errors (calibration/beijing-etown-backtest.csv)",
             "  discrepancy:", "    metrics:"]
    for metric, t in terms.items():  # type: ignore[union-attr]
        lines.append(f"      {metric}: {{sd: {t['sd']:.4g}, sd_per_month: {t['sd_per_month']:.4g}}}")
    lines.append("  # this vintage's own forecast (evplant mc, to 2026), drawn behind a single run")
    lines.append(f"  forecast: calibration/{name}-forecast.csv")
    lines.append("  # the other forecast vintages of this plant, drawn by `evplant mc`'s report")
    lines.append("  vintages:")
    for other, label in VINTAGES.items():
        if other != name:
            lines.append(f"    - {{name: \"{other}: {label}\", "
                         f"forecast: calibration/{other}-forecast.csv}}")
    return "\n".join(lines) + "\n"


def edit(text: str, name: str, disc: dict[str, object]) -> str:
    # drop what an earlier install inserted, then insert afresh
    text = re.sub(r"(?ms)^  # the model's own error, growing.*?^  vintages:\n(    - [^\n]*\n)+",
                  "", text)
    return re.sub(r"(?m)^calibration:\n", lambda m: m.group(0) + sections(name, disc), text,
                  count=1)


def main(argv: list[str]) -> None:
    if argv[0] == "--plan":
        disc = yaml.safe_load(Path(argv[1]).read_text())
        path = DEST / "beijing-etown-2023.yaml"
        path.write_text(edit(path.read_text(), "beijing-etown-2023", disc))
        return
    out, name, disc_path = Path(argv[0]), argv[1], Path(argv[2])
    disc = yaml.safe_load(disc_path.read_text())
    text = (out / "scenario.yaml").read_text()
    text = text.replace("  file: posterior.parquet\n", f"  file: {name}.posterior.parquet\n")
    text = text.replace("jointly from posterior.parquet.", f"jointly from {name}.posterior.parquet.")
    # the header of the scenario it came from gives way to this vintage's own
    text = re.sub(r"(?ms)^# Xiaomi's EV plant in Beijing E-Town.*?(?=^# \"facts:\" cites)",
                  lambda _: HEADERS[name], text, count=1)
    text = re.sub(r"the plan before SOP: 300,000 vehicles a year in two\n  phases of 150,000",
                  "calibrated on the record: 300,000 vehicles a year planned in\n  two phases "
                  "of 150,000", text)
    (DEST / f"{name}.yaml").write_text(edit(text, name, disc))
    shutil.copy(out / "posterior.parquet", DEST / f"{name}.posterior.parquet")
    cal = DEST / "calibration"
    cal.mkdir(exist_ok=True)
    shutil.copy(out / "fit.csv", cal / f"{name}-fit.csv")
    shutil.copy(out / "calibration.json", cal / f"{name}.json")


if __name__ == "__main__":
    main(sys.argv[1:])
