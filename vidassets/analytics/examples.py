"""The example queries of docs/DATA.md (verbatim there; the tests run each, the benchmark times three)."""

EXAMPLES: dict[str, str] = {
    "talk_time_per_speaker": """\
SELECT s.video_id, s.speaker,
       round(s.talk_time_s, 1) AS talk_time_s,
       round(100 * s.talk_time_s / sum(s.talk_time_s) OVER (PARTITION BY s.video_id), 1) AS share_pct,
       s.word_count, s.turns
FROM speakers s
ORDER BY s.video_id, s.talk_time_s DESC""",
    "words_per_minute_by_video": """\
SELECT v.video_id, v.duration_s,
       sum(s.word_count) AS words,
       round(sum(s.talk_time_s), 1) AS talk_time_s,
       round(sum(s.word_count) * 60 / nullif(sum(s.talk_time_s), 0), 1) AS words_per_minute
FROM videos v JOIN speakers s USING (video_id)
WHERE v.status = 'approved'
GROUP BY v.video_id, v.duration_s
ORDER BY words_per_minute DESC, v.video_id""",
    "moderation_label_counts": """\
SELECT label,
       count(*) AS detections,
       count(DISTINCT video_id) AS videos,
       count(*) FILTER (WHERE flagged) AS flagged,
       round(max(score), 3) AS max_score
FROM moderation_frames
WHERE label IS NOT NULL
GROUP BY label
ORDER BY detections DESC, label""",
    "spoken_moderation_by_speaker": """\
SELECT video_id, speaker, category,
       count(*) AS segments,
       count(*) FILTER (WHERE flagged) AS flagged,
       round(max(score), 2) AS max_score
FROM text_moderation
GROUP BY video_id, speaker, category
ORDER BY video_id, speaker, category""",
    "flagged_lines": """\
SELECT t.video_id, t.speaker, t.start_s, t.category, round(t.score, 2) AS score, s.text
FROM text_moderation t JOIN segments s USING (video_id, segment_index)
WHERE t.flagged
ORDER BY t.score DESC, t.video_id, t.start_s""",
    "phrase_search": """\
SELECT video_id, speaker, start_s, end_s, text
FROM segments
WHERE text ILIKE '%hiring plan%'
ORDER BY video_id, start_s""",
    "phrase_search_words": """\
SELECT w1.video_id, w1.speaker, w1.start_s, w2.end_s
FROM words w1
JOIN words w2 ON w2.video_id = w1.video_id AND w2.segment_index = w1.segment_index
             AND w2.word_index = w1.word_index + 1
WHERE lower(w1.word) = 'hiring' AND regexp_replace(lower(w2.word), '[^a-z]', '', 'g') = 'plan'
ORDER BY w1.video_id, w1.start_s""",
    "status_overview": """\
SELECT status, count(*) AS videos, round(sum(duration_s) / 60, 1) AS minutes
FROM videos
GROUP BY status
ORDER BY videos DESC, status""",
}

# The three corpus queries the benchmark times.
BENCHMARK_QUERIES = ("talk_time_per_speaker", "words_per_minute_by_video", "phrase_search")
