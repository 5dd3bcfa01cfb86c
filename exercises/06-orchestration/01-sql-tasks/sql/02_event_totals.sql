-- Step 2 (Civis SQL script "Event totals"): one row per event, from the staged
-- sign-ups of step 1. A person who signed up twice counts once.
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE OR REPLACE TABLE analytics.event_totals AS
SELECT event_id,
       any_value(event_type) AS event_type,
       count(DISTINCT email) AS signups,
       count(DISTINCT email) FILTER (WHERE status = 'attended') AS attended
FROM staging.signups
WHERE status <> 'cancelled' AND coalesce(email, '') <> ''
GROUP BY event_id;
