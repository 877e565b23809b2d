from __future__ import annotations

import pytest

from service.core.runtime_selection import CPU_EP, CUDA_EP, TRT_EP, RuntimeEnvironment, select_runtime
from videoprism_bundle.manifest import TensorRTEngineSpec


def _engine(source: str = "video_encoder", trt: str = "10.3.0", cc: str = "8.9") -> TensorRTEngineSpec:
    return TensorRTEngineSpec.model_validate(
        {
            "file": f"{source}.plan",
            "source": source,
            "fp16": True,
            "min_batch": 1,
            "opt_batch": 8,
            "max_batch": 32,
            "tensorrt_version": trt,
            "gpu_name": "NVIDIA L4",
            "compute_capability": cc,
        }
    )


def _env(
    providers: tuple[str, ...] = (CPU_EP,),
    trt: str | None = None,
    gpus: int = 0,
    cc: str | None = None,
    cuda_python: bool = True,
) -> RuntimeEnvironment:
    return RuntimeEnvironment(
        ort_providers=providers,
        tensorrt_version=trt,
        cuda_python_available=cuda_python,
        cuda_device_count=gpus,
        gpu_name="NVIDIA L4" if gpus else None,
        compute_capability=cc,
    )


GPU_ORT = (TRT_EP, CUDA_EP, CPU_EP)


def test_matching_engine_on_a_gpu_wins() -> None:
    choice = select_runtime("video_encoder", [_engine()], _env(GPU_ORT, trt="10.3.1", gpus=1, cc="8.9"))
    assert (
        choice.runtime == "tensorrt"
        and choice.engine is not None
        and choice.engine.file == "video_encoder.plan"
    )


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        (_env(GPU_ORT, trt=None, gpus=1, cc="8.9"), "tensorrt not installed"),
        (_env(GPU_ORT, trt="10.3.0", gpus=1, cc="8.9", cuda_python=False), "cuda-python not installed"),
        (_env(GPU_ORT, trt="10.3.0", gpus=1, cc="9.0"), "built for compute capability 8.9, GPU has 9.0"),
        (_env(GPU_ORT, trt="10.5.0", gpus=1, cc="8.9"), "built with TensorRT 10.3.0, installed 10.5.0"),
    ],
)
def test_unusable_engine_falls_back_to_the_trt_provider_with_the_reason(
    env: RuntimeEnvironment, reason: str
) -> None:
    choice = select_runtime("video_encoder", [_engine()], env)
    assert choice.runtime == "onnxruntime"
    assert choice.providers == (TRT_EP, CUDA_EP, CPU_EP)
    assert reason in choice.reason


def test_engine_for_the_other_encoder_is_not_used() -> None:
    choice = select_runtime(
        "text_encoder", [_engine("video_encoder")], _env(GPU_ORT, trt="10.3.0", gpus=1, cc="8.9")
    )
    assert choice.engine is None and "none in the bundle for text_encoder" in choice.reason


def test_cuda_provider_when_the_build_has_no_trt_provider() -> None:
    choice = select_runtime("video_encoder", [], _env((CUDA_EP, CPU_EP), gpus=1))
    assert choice.provider == CUDA_EP and choice.providers == (CUDA_EP, CPU_EP)
    assert f"{TRT_EP}: not in this onnxruntime build" in choice.reason


def test_gpu_build_without_a_device_runs_on_cpu_and_says_why() -> None:
    choice = select_runtime("video_encoder", [_engine()], _env(GPU_ORT, trt="10.3.0", gpus=0))
    assert choice.providers == (CPU_EP,)
    assert "no CUDA device" in choice.reason and f"{CUDA_EP}: no CUDA device" in choice.reason


def test_cpu_only_build() -> None:
    choice = select_runtime("text_encoder", [], _env((CPU_EP,)))
    assert choice.provider == CPU_EP and f"{CUDA_EP}: not in this onnxruntime build" in choice.reason


def test_forced_cpu_ignores_everything_else() -> None:
    choice = select_runtime(
        "video_encoder", [_engine()], _env(GPU_ORT, trt="10.3.0", gpus=1, cc="8.9"), force_cpu=True
    )
    assert choice.providers == (CPU_EP,) and choice.reason == "CPU forced by settings"


def test_detect_on_this_machine_reports_real_providers() -> None:
    import onnxruntime as ort

    env = RuntimeEnvironment.detect()
    assert env.ort_providers == tuple(ort.get_available_providers())
    assert CPU_EP in env.ort_providers
