"""`lwd-studio eval` as a subprocess on the README's "training on your own data" case: an unlabelled D4RL-layout
HalfCheetah file (more cases, in-process, in tests/core/test_own_data.py)."""
import json

from tests.cli.test_cli import assert_one_line_error, cli
from tests.core.test_own_data import write


def test_an_unlabelled_cheetah_file_trains_and_evaluates(tmp_path):
    f = write(tmp_path / "my_cheetah.h5", 17, 6)
    r = cli("train", "--preset", "tiny", "--dataset", f, "--env", "HalfCheetah-v5", "--run-dir", tmp_path / "run")
    assert r.returncode == 0, r.stderr[-3000:]
    r = cli("eval", tmp_path / "run", "--workers", "1", "--json", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "left out: expert (no shipped behaviour policy for condition 'default' of HalfCheetah-v5)" in r.stdout
    res = json.loads((tmp_path / "e.json").read_text())
    assert set(res["methods"]) == {"lwd"} and set(res["left_out"]) == {"expert", "vae"}
    assert_one_line_error(cli("eval", tmp_path / "run", "--workers", "1", "--methods", "lwd,vae"),
                          "--methods vae: nothing to reconstruct for condition 'default'")
    assert_one_line_error(cli("eval", tmp_path / "run", "--workers", "1", "--action-horizon", "8"),
                          "--action-horizon 8:", "not state-conditioned")
