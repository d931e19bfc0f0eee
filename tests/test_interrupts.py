"""A run stopped by SIGTERM or Ctrl-C removes its temporary folder, data snapshot and lock, stops its kernels,
leaves the month's previous report as it was, and says so."""
import signal
import subprocess
import sys
import time

import psutil
import pytest

from kamlib.report.interrupts import Interrupted, Interrupts

from conftest import TODAY


def _wait_for(condition, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("jobs, signum", [(2, signal.SIGTERM), (1, signal.SIGINT)])
def test_a_stopped_report_leaves_nothing_behind(small_dir, tmp_path, jobs, signum):
    out = tmp_path / "reports"
    previous = out / "2026-09"
    previous.mkdir(parents=True)
    (previous / "index.html").write_text("the report from before")
    cmd = [sys.executable, "-m", "kamlib.cli", "report", "--data", str(small_dir), "--month", "2026-09",
           "--out", str(out), "--today", TODAY, "--jobs", str(jobs), "--quiet",
           "--notebooks", "01_account_overview", "02_customer_lifetime_value"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # stop it while notebooks run: the work folder and the snapshot exist, a notebook has started
        started = _wait_for(lambda: list(out.glob(".snapshot-*")) and list(out.glob(".tmp-2026-09-*/executed/*")))
        assert started, proc.stderr.read() if proc.poll() is not None else "the run did not start in time"
        assert (out / ".lock-2026-09").exists()
        children = psutil.Process(proc.pid).children(recursive=True)        # pool workers and kernels
        assert children
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert f"stopped by {signal.Signals(signum).name}" in err and "Traceback" not in err
    assert "was removed (temporary folder, data snapshot, lock)" in err
    assert f"{out / '2026-09'} was left as it was" in err
    assert sorted(p.name for p in out.iterdir()) == ["2026-09"]                  # no .tmp, .snapshot, .lock
    assert (previous / "index.html").read_text() == "the report from before"
    assert sorted(p.name for p in previous.iterdir()) == ["index.html"]
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_a_signal_waits_for_a_step_that_must_not_be_cut():
    steps = []
    with pytest.raises(Interrupted) as stopped, Interrupts() as stop:
        with stop.deferred():
            signal.raise_signal(signal.SIGTERM)
            steps.append("finished")                  # not cut: the signal is raised after the block
        steps.append("after")
    assert steps == ["finished"] and stopped.value.exit_status == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL                 # handlers restored
