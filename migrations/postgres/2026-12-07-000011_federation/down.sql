DROP TABLE federated_identities;
DROP TABLE identity_providers;
