"""Production execution wiring: GPU run tags per run launcher, and an AWS Batch run launcher.

Instance configs live in the repo's `deploy/` folder; docs/DEPLOY.md explains how they fit together.
"""

from vidassets.deploy.gpu_tags import LAUNCHER_ENV, gpu_run_tags

__all__ = ["LAUNCHER_ENV", "gpu_run_tags"]
