DROP TABLE mail_links;
DROP TABLE mail_outbox;
ALTER TABLE users DROP COLUMN email_verified;
