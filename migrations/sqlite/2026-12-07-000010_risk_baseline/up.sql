-- Continuous evaluation (src/auth/continuous.rs): where and on what a grant was issued, the
-- client address and device description ("Firefox on Linux") of the request that exchanged its
-- code. A refresh from both another network and another device is refused and the grant revoked
-- (policy.risk.on_change). Grants from before this migration have none: never a change.
ALTER TABLE grants ADD COLUMN risk_ip TEXT;
ALTER TABLE grants ADD COLUMN risk_device TEXT;
