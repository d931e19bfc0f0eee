"""Run every benchmark: `make bench` (arguments are passed to each script's defaults)."""
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE = str(HERE.parent / "data" / "sample")
for script, args in (("batch_scale.py", ["--data", SAMPLE]), ("clv_vs_lifetimes.py", []), ("aggregate_scale.py", []),
                     ("load_scale.py", []), ("xlsx_load.py", []), ("engine_timings.py", []), ("cox_fit.py", [])):
    print(f"=== {script} {' '.join(args)}", flush=True)
    sys.argv = [script, *args]
    runpy.run_path(str(HERE / script), run_name="__main__")
