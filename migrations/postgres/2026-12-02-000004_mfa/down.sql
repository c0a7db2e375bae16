DROP TABLE recovery_codes;
DROP TABLE webauthn_credentials;
DROP TABLE mfa_totp;
