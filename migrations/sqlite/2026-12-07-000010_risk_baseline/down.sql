ALTER TABLE grants DROP COLUMN risk_device;
ALTER TABLE grants DROP COLUMN risk_ip;
