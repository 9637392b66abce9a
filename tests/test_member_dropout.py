"""MemberDropout's generator state: restored in place (a captured CUDA graph keeps its generators), and checkpoints
written before the module existed still load, continuing the same mask stream."""
import pytest
import torch

from grokbench.compose import compose_config
from grokbench.models import build_model
from grokbench.tasks import build_task

MODELS = {
    "quadratic": (["model=quadratic", "loss=mse", "model.dropout=0.3"], "dropout"),
    "transformer": (["model=transformer", "model.d_model=8", "model.n_heads=2", "model.d_ff=8", "model.dropout=0.3"],
                    "drop"),
}


def two_models(name):
    overrides, attr = MODELS[name]
    cfg = compose_config([*overrides, "task.p=11", "seeds=2", "device=cpu"])
    data = build_task(cfg.task, [0, 1], "cpu")
    return data, build_model(cfg.model, data, [0, 1], "cpu"), build_model(cfg.model, data, [0, 1], "cpu"), attr


@pytest.mark.parametrize("name", MODELS)
def test_loading_state_sets_the_live_generators_in_place(name):
    data, model, _, attr = two_models(name)
    model(data.x_train)  # generators exist now
    gens = getattr(model, attr).gens
    state = model.state_dict()
    first = model(data.x_train)
    model.load_state_dict(state)
    assert getattr(model, attr).gens is gens  # the same objects, rewound
    torch.testing.assert_close(model(data.x_train), first)


@pytest.mark.parametrize("name", MODELS)
def test_a_checkpoint_from_before_member_dropout_loads(name):
    data, model, fresh, attr = two_models(name)
    model(data.x_train)
    state = model.state_dict()
    gens = state.pop(f"{attr}._extra_state")
    state["_extra_state"] = {"dropout_gens": gens, "pending": None} if name == "quadratic" else gens  # the old layouts
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh(data.x_train), model(data.x_train))  # the same next masks
