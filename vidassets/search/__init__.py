"""Search the corpus for the moment a phrase is said or shown (Dagster-free; the CLI and the API call it).

- `texts`: what is searchable — spoken `segments` and on-screen `screen_text` (when that table exists), always
  their PII-redacted text where one exists — read from the warehouse for a set of videos, and the rows of the
  `text_embeddings` table (MiniLM vectors of those texts, written with the video's other rows);
- `engine`: `search(warehouse, query, video_ids=…, semantic=…, limit=…)` -> ranked `Match`es (video, kind, time,
  text, score, link to the transcript page at that time): keyword matching in DuckDB (case-insensitive, every
  word, phrase and whole words ranked first) or cosine similarity of MiniLM embeddings in DuckDB. The query is a
  tenant's value: bounded (`parse_query`) and only ever passed to DuckDB as a parameter.

Nothing is imported here, so `import vidassets.search.texts` stays light.
"""
