"""Analytics over the processed corpus: Parquet tables analysts query with DuckDB, pandas or pyarrow.

- `schemas`: the table schemas (`SCHEMA_VERSION`, column descriptions, `schema_fingerprint()`);
- `rows`: manifests of one video -> its rows in every table (`video_tables(**manifests)`), pure;
- `warehouse`: `Warehouse(root)` - atomic per-video writes, compaction, pyarrow datasets, DuckDB views;
- `query`: `run_query(root, sql)` and `vidassets query`;
- `subtitles`: SRT / WebVTT / TXT / WhisperX JSON from a diarized transcript, and `vidassets export`;
- `examples`: the example queries of docs/DATA.md.

Nothing is imported here, so `import vidassets.analytics.rows` stays light (no DuckDB).
"""
