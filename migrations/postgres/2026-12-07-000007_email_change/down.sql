ALTER TABLE mail_links DROP COLUMN previous_address;
