"""run_costs rows and the $ per video-hour query, on a real (local) warehouse."""

import pytest

from vidassets.analytics.costs import PriceError, StepTiming, cost_per_video_hour_sql, parse_prices, run_cost_rows
from vidassets.analytics.query import run_query
from vidassets.analytics.schemas import RUN_COSTS
from vidassets.analytics.warehouse import Warehouse
from vidassets.cli import main as cli_main

VIDEO = "talk-0123456789ab"


def test_rows_skip_steps_without_an_end():
    steps = [
        StepTiming("r1", 1, "transcript", "SUCCESS", 100.0, 160.0),
        StepTiming("r1", 1, "summary", "UNKNOWN", 160.0, None),  # its worker died mid-step
    ]
    table = run_cost_rows(VIDEO, steps, device="cuda", media_s=600.0)
    assert table.schema.equals(RUN_COSTS)
    assert table.column("compute_s").to_pylist() == [60.0]


def test_cost_per_video_hour_from_prices(tmp_path):
    steps = [
        StepTiming("r1", 1, "transcript", "FAILURE", 0.0, 30.0),  # a failed attempt still costs
        StepTiming("r2", 2, "transcript", "SUCCESS", 100.0, 190.0),
    ]
    Warehouse(str(tmp_path)).write_video(VIDEO, {"run_costs": run_cost_rows(VIDEO, steps, "cuda", 1800.0)})
    result = run_query(str(tmp_path), cost_per_video_hour_sql({"cuda": 0.72, "cpu": 0.1}))
    row = result.iloc[0]
    assert row.compute_s == 120.0 and row.media_s == 1800.0
    # 120 s at $0.72/h = $0.024 for half an hour of video -> $0.048 per video-hour
    assert row.usd_per_video_hour == pytest.approx(0.048)
    unpriced = run_query(str(tmp_path), cost_per_video_hour_sql({"cpu": 0.1})).iloc[0]
    assert unpriced.usd == 0 and unpriced.unpriced_devices == "cuda"


def test_vidassets_costs_command(tmp_path, monkeypatch, capsys):
    """`vidassets costs`: root and prices from the settings (VIDASSETS_STORAGE_ROOT, VIDASSETS_PRICE_PER_HOUR),
    `--price` over them. (It failed with an ImportError before the settings object.)"""
    steps = [StepTiming("r1", 1, "transcript", "SUCCESS", 0.0, 120.0)]
    Warehouse(str(tmp_path)).write_video(VIDEO, {"run_costs": run_cost_rows(VIDEO, steps, "cuda", 1800.0)})
    monkeypatch.setenv("VIDASSETS_STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("VIDASSETS_PRICE_PER_HOUR", "cuda=0.72")
    assert cli_main(["costs", "--format", "csv"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split(",")
    assert row[0] == VIDEO and pytest.approx(0.048) in [float(v) for v in row[1:] if v.replace(".", "").isdigit()]
    assert cli_main(["costs", "--format", "csv", "--price", "cuda=1.44"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split(",")
    assert pytest.approx(0.096) in [float(v) for v in row[1:] if v.replace(".", "").isdigit()]


def test_parse_prices():
    assert parse_prices("cpu=0.1, cuda=0.526") == {"cpu": 0.1, "cuda": 0.526}
    assert parse_prices(None)["cuda"] > 0
    with pytest.raises(PriceError, match="'cuda' in 'cuda' is not `device=dollars_per_hour`"):
        parse_prices("cuda")
    with pytest.raises(PriceError, match="'cpu=-1'"):
        parse_prices("cpu=-1")


def test_costs_command_prints_per_video_costs(tmp_path, capsys, monkeypatch):
    """`vidassets costs` end to end (it once imported a helper that no longer existed and failed on every call)."""
    from vidassets.cli import main

    steps = [StepTiming("r1", 1, "transcript", "SUCCESS", 100.0, 190.0)]
    Warehouse(str(tmp_path)).write_video(VIDEO, {"run_costs": run_cost_rows(VIDEO, steps, "cuda", 1800.0)})
    assert main(["costs", "--root", str(tmp_path), "--price", "cuda=0.72", "--format", "csv"]) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    assert header.startswith("video_id,") and row.startswith(f"{VIDEO},") and ",0.036," in row, row
    monkeypatch.setenv("VIDASSETS_STORAGE_ROOT", str(tmp_path))
    assert main(["costs", "--format", "json"]) == 0  # the root from the environment, default prices
    assert VIDEO in capsys.readouterr().out
    assert main(["costs", "--root", str(tmp_path), "--price", "cuda"]) == 1
    assert "is not `device=dollars_per_hour`" in capsys.readouterr().err
