"""Asset values are small JSON manifests (`vidassets.manifests`); the heavy artifacts they point to are written
by the assets.

Each manifest lands at `<root>/assets/<asset>/<video_id>/manifest.json`, so the storage layout, not the Dagster
instance, is the source of truth and a re-materialization replaces exactly one partition's manifest.
"""

from typing import Any

import dagster as dg

from vidassets.resources.storage import VideoStorage
from vidassets.storage.layout import manifest_key


class ManifestIOManager(dg.ConfigurableIOManager):
    storage: dg.ResourceDependency[VideoStorage]

    def handle_output(self, context: dg.OutputContext, obj: dict[str, Any] | None) -> None:
        if obj is None:
            return
        url = self.storage.store.put_json(manifest_key(context.asset_key.path[-1], context.partition_key), obj)
        context.add_output_metadata({"manifest": dg.MetadataValue.path(url)})

    def load_input(self, context: dg.InputContext) -> dict[str, Any]:
        upstream = context.upstream_output
        assert upstream is not None
        return self.storage.store.get_json(manifest_key(upstream.asset_key.path[-1], context.partition_key))
