-- Step 1 of the nightly pipeline (Civis SQL script "Stage Mobilize sign-ups").
-- One row per sign-up for the events that start on or after the date `since`,
-- leaving out one kind of event (`skip_type`), with the email and status cleaned.
CREATE SCHEMA IF NOT EXISTS staging;

CREATE OR REPLACE TABLE staging.signups AS
SELECT s.signup_id,
       s.event_id,
       e.event_type,
       lower(trim(s.email)) AS email,
       lower(trim(s.status)) AS status
FROM mobilize.signups AS s
JOIN mobilize.events AS e ON e.event_id = s.event_id
WHERE e.starts_at >= CAST({{since}} AS DATE)
  AND e.event_type <> {{skip_type}};
