"""The Table 1 study's plan: which encoder its LWD runs train, and that the MLP baseline does not depend on it."""
from lwd_core.studies.registry import StudyArgs
from lwd_core.studies.table1 import plan


def _train_cfgs(tmp_path, **options):
    p = plan(StudyArgs(out=tmp_path, seeds=1, options={"envs": "halfcheetah", **options}))
    return {u.name.split()[1]: u.args["cfg"] for u in p.units if u.name.startswith("train ")}


def test_the_encoder_option_switches_every_lwd_run_and_nothing_else(tmp_path):
    flat, conv = _train_cfgs(tmp_path), _train_cfgs(tmp_path, encoder="conv")
    assert set(flat) == set(conv) == {"lwd-HalfCheetah-v5-s0", "mlp-HalfCheetah-v5-s0", "snippets-HalfCheetah-v5-s0"}
    assert {flat[k].vae.encoder for k in flat} == {"flat"}
    for name in ("lwd-HalfCheetah-v5-s0", "snippets-HalfCheetah-v5-s0"):
        assert conv[name].vae.encoder == "conv"
        # the rest of the LWD set-up is the paper's: only the encoder's own settings differ
        assert conv[name].replace(vae={"encoder": "flat", "conv_channels": flat[name].vae.conv_channels}) == flat[name]
    # the baseline is the same run either way, so a conv study can reuse a flat study's MLP
    assert conv["mlp-HalfCheetah-v5-s0"] == flat["mlp-HalfCheetah-v5-s0"]
