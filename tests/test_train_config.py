"""Training configs: YAML round trip, shipped configs load, unknown keys and bad overrides are one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asd_explain.cli.train import command as train_command
from asd_explain.config import ConfigError, config_from_dict, load_config, save_config
from asd_explain.models import ModelConfig
from asd_explain.train.config import TrainConfig
from asd_explain.train.recipe import load_train_config, parse_overrides

CONFIGS = Path(__file__).parents[1] / "configs"


def test_yaml_round_trip(tmp_path):
    config = TrainConfig(model=ModelConfig(modalities=("audio", "face"), se=False), run_dir="x")
    config.optim.epochs = 7
    save_config(config, tmp_path / "c.yaml")
    again = load_config(tmp_path / "c.yaml", TrainConfig)
    assert again == config and again.model.modalities == ("audio", "face")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("train_*.yaml")), ids=lambda p: p.name)
def test_shipped_train_configs_load(path):
    config = load_train_config(path)
    assert config.model.modalities == ("audio", "face", "body")


def test_maps_recipe_is_the_synth_recipe_with_finer_maps():
    """train_synth_maps.yaml differs from train_synth.yaml only in the map stride, the step budget (and its time
    cap) and run_dir. Both stop on a step budget: the training length is a stated condition (issue 20)."""
    base, maps = (load_train_config(CONFIGS / name) for name in ("train_synth.yaml", "train_synth_maps.yaml"))
    assert (base.model.visual_map_stride, maps.model.visual_map_stride) == (16, 8)
    assert (base.optim.max_steps, maps.optim.max_steps) == (1100, 2600)
    assert (base.optim.max_time_s, maps.optim.max_time_s) == (3600, 14400)
    maps.model.visual_map_stride, maps.run_dir = 16, base.run_dir
    maps.optim.max_steps, maps.optim.max_time_s = base.optim.max_steps, base.optim.max_time_s
    assert maps == base


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("model_*.yaml")), ids=lambda p: p.name)
def test_shipped_model_configs_load(path):
    config = load_train_config(CONFIGS / "train_synth.yaml", model_config=path)
    assert isinstance(config.model, ModelConfig)


def test_model_config_file_and_overrides(tmp_path):
    config = load_train_config(CONFIGS / "train_synth.yaml", model_config=CONFIGS / "model_light_face.yaml",
                               overrides=parse_overrides(["optim.epochs=2", "model.se=false", "data.store=/s"]))
    assert config.model.modalities == ("face",) and config.model.se is False
    assert config.optim.epochs == 2 and config.data.store == "/s"


def test_unknown_key_is_a_one_line_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  modalites: [face]\n")
    with pytest.raises(ConfigError) as error:
        load_train_config(path)
    message = str(error.value)
    assert "\n" not in message and "bad.yaml" in message and "'modalites'" in message
    with pytest.raises(ConfigError, match="unknown key 'epoch' for OptimConfig"):
        load_train_config(CONFIGS / "train_synth.yaml", overrides={"optim.epoch": 3})
    with pytest.raises(ConfigError, match="not key=value"):
        parse_overrides(["optim.epochs"])
    with pytest.raises(ConfigError, match="temporal must be one of"):
        config_from_dict(TrainConfig, {"model": {"temporal": "lstm"}})


def test_cli_reports_config_errors_on_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("optim:\n  learning_rate: 0.1\n")
    result = CliRunner().invoke(train_command, ["--config", str(path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "unknown key 'learning_rate'" in result.output
    missing_store = CliRunner().invoke(train_command, ["--config", str(CONFIGS / "train_synth.yaml"),
                                                       "--store", str(tmp_path / "nothing")])
    assert missing_store.exit_code == 1 and "not a track store" in missing_store.output
