SELECT
    p.state_house_district                  AS district,
    COUNT(DISTINCT p.person_id)             AS registered,
    COUNT(DISTINCT vh.person_id)            AS voted,
    ROUND(100.0 * COUNT(DISTINCT vh.person_id)
          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id
      AND vh.election_date = '2022-11-08'
WHERE p.registration_date <= '2022-10-24'
GROUP BY p.state_house_district
ORDER BY p.state_house_district;
