DROP TABLE consents;
DROP TABLE refresh_tokens;
DROP TABLE signing_keys;
DROP TABLE clients;
