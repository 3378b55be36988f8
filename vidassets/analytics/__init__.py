"""Analytics over the processed corpus: Parquet tables analysts query with DuckDB, pandas or pyarrow.

- `schemas`: the table schemas (`SCHEMA_VERSION`, column descriptions, `schema_fingerprint()`);
- `rows`: manifests of one video -> its rows in every table (`video_tables(**manifests)`), pure;
  `text_moderation_rows` and `costs` (run_costs rows, `vidassets costs`) add their tables' rows;
- `warehouse`: `Warehouse(root or Store)` - atomic per-video writes, compaction, pyarrow datasets, DuckDB views,
  over a `vidassets.storage.Store`;
- `query`: `run_query(root, sql)` and `vidassets query`;
- `subtitles`: SRT / WebVTT / TXT / WhisperX JSON from a diarized transcript, and `vidassets export`;
- `examples`: the example queries of docs/DATA.md.

Nothing is imported here, so `import vidassets.analytics.rows` stays light (no DuckDB).
"""
