"""The layering holds: the Dagster-free packages import neither Dagster nor the Dagster-facing packages, directly,
lazily inside a function, or through anything they import."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import vidassets

PACKAGE = Path(vidassets.__file__).parent
DAGSTER_FREE = ["media", "ml", "analytics", "search", "storage", "manifests.py", "model_config.py", "video_ids.py",
                "verdict.py", "api/outbound.py", "settings.py"]
LOWER_LAYERS = ["media", "ml", "analytics", "storage"]  # take settings as values: no environment, no settings loader
FORBIDDEN = ("dagster", "dagster_aws", "vidassets.resources", "vidassets.assets", "vidassets.sensors",
             "vidassets.definitions", "vidassets.jobs", "vidassets.partitions")


def _imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


def _files(packages: list[str] = DAGSTER_FREE) -> list[Path]:
    out = []
    for name in packages:
        path = PACKAGE / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _modules() -> list[str]:
    return [".".join(("vidassets", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
            for p in _files()]


def test_no_forbidden_import_statements():
    found = []
    for path in _files():
        found += [f"{path.relative_to(PACKAGE)}: {n}" for n in _imported_names(path)
                  if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert found == []


def test_workers_and_deploy_do_not_import_the_dev_stack():
    found = [f"{path.relative_to(PACKAGE)}: {n}" for path in _files(["workers", "deploy"])
             for n in _imported_names(path) if n == "vidassets.devstack" or n.startswith("vidassets.devstack.")]
    assert found == []


def test_the_code_location_loads_no_part_of_the_http_api():
    """`api/` is the HTTP application; the sensors that call it for webhooks import it when they run."""
    code = ("import json, sys\nimport vidassets.definitions\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('vidassets.api'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_run_tags_of_dagster_are_written_in_one_module():
    """`vidassets.lifecycle` names the partition and retry tags; everything else asks it."""
    writers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if any(tag in p.read_text() for tag in ('"dagster/partition"', '"dagster/will_retry"')))
    assert writers == ["lifecycle.py"]


def test_importing_them_loads_no_dagster():
    code = (
        "import importlib, json, sys\n"
        f"for name in {_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_aws')"
        f" or m.startswith({FORBIDDEN[2:]!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_lower_layers_read_no_settings():
    """Settings are read once (vidassets.settings) and passed down: the lower layers neither read the environment
    nor import the loader."""
    found = []
    for layer in LOWER_LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            text = path.read_text()
            found += [f"{path.relative_to(PACKAGE)}: {word}" for word in ("os.environ", "getenv") if word in text]
            for node in ast.walk(ast.parse(text, str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{path.relative_to(PACKAGE)}: imports {n}" for n in names if n == "vidassets.settings"]
    assert found == []


def test_object_storage_is_implemented_in_one_package():
    """boto3 S3 clients are made in exactly one place: `storage/s3.py`."""
    makers = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
              if ".client(\"s3\"" in p.read_text() or ".client('s3'" in p.read_text()]
    assert makers == ["storage/s3.py"]
