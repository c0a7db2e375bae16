DROP TABLE risk_profiles;
DROP TABLE sign_in_events;
