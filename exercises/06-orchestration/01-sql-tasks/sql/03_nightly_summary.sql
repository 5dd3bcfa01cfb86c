-- Step 3 (Civis SQL script "Nightly summary"): one row per run date and kind of
-- event, from the totals of step 2. A second run for the same `since` replaces
-- its rows instead of adding them again.
CREATE TABLE IF NOT EXISTS analytics.nightly_summary (
    since DATE,
    event_type VARCHAR,
    events BIGINT,
    signups BIGINT,
    attended BIGINT
);

DELETE FROM analytics.nightly_summary WHERE since = CAST({{since}} AS DATE);

INSERT INTO analytics.nightly_summary
SELECT CAST({{since}} AS DATE), event_type, count(*), sum(signups), sum(attended)
FROM analytics.event_totals
GROUP BY event_type;
