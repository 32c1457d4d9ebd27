"""The Table 1 study's plan: which encoder its LWD runs train, and that the MLP baseline does not depend on it."""
from lwd_core.config import preset
from lwd_core.studies.registry import StudyArgs
from lwd_core.studies.table1 import plan


def _train_cfgs(tmp_path, **options):
    p = plan(StudyArgs(out=tmp_path, seeds=1, options={"envs": "halfcheetah", **options}))
    return {u.name.split()[1]: u.args["cfg"] for u in p.units if u.name.startswith("train ")}


def test_the_encoder_option_switches_every_lwd_run_and_nothing_else(tmp_path):
    default, conv, flat = _train_cfgs(tmp_path), _train_cfgs(tmp_path, encoder="conv"), _train_cfgs(tmp_path, encoder="flat")
    assert default == conv
    assert set(flat) == set(conv) == {"lwd-HalfCheetah-v5-s0", "mlp-HalfCheetah-v5-s0", "snippets-HalfCheetah-v5-s0"}
    assert {flat[k].vae.encoder for k in flat} == {"flat"}
    for name in ("lwd-HalfCheetah-v5-s0", "snippets-HalfCheetah-v5-s0"):
        assert conv[name].vae.encoder == "conv"
        # the rest of the LWD set-up is the same: only the encoder's own settings differ
        assert conv[name].replace(vae={"encoder": "flat", "conv_channels": flat[name].vae.conv_channels}) == flat[name]
    # the baseline is the same run either way, so one study can reuse the other's MLP
    assert conv["mlp-HalfCheetah-v5-s0"] == flat["mlp-HalfCheetah-v5-s0"]


def test_locomotion_paper_is_the_locomotion_preset_with_the_flattened_encoder():
    new, paper = preset("locomotion"), preset("locomotion-paper")
    assert (new.vae.encoder, paper.vae.encoder) == ("conv", "flat")
    assert new.replace(name=paper.name, vae={"encoder": "flat", "conv_channels": paper.vae.conv_channels}) == paper
